"""Tests of the autoencoder models and the Experiment training loop (tiny data, CPU)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sigma._errors import SigmaFileError, SigmaValueError  # noqa: E402
from sigma.embedding import experiment as exp_mod  # noqa: E402
from sigma.embedding.autoencoder import AutoEncoder, VariationalAutoEncoder  # noqa: E402
from sigma.embedding.experiment import (  # noqa: E402
    Experiment,
    FeatureDataset,
    add_feature_noise,
    kld_loss,
    same_seeds,
    scale_to_unit,
    train_eval_split,
)

SMALL = {"hidden_layer_sizes": (16, 8)}
FAST = {"batch_size": 32, "learning_rate": 1e-3, "weight_decay": 0.0, "progress_bar": False}


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and lose a lot on a busy CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def cube() -> np.ndarray:
    """(H, W, F) z-scored features with negative values."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 10, 4)).astype(np.float32)
    x[..., 1] = 3.0 * x[..., 0] + 0.1 * x[..., 1]
    return (x - x.mean((0, 1))) / x.std((0, 1))


def _experiment(tmp_path, data, model=AutoEncoder, descriptor="t", **kw) -> Experiment:
    return Experiment(descriptor, tmp_path, model, SMALL, data, **kw)


# --------------------------------------------------------------------------- models
def test_autoencoder_shapes_and_linear_output():
    torch.manual_seed(0)
    ae = AutoEncoder(5, hidden_layer_sizes=(16, 8), latent_dim=3)
    x = torch.randn(7, 5)
    assert ae.encode(x).shape == (7, 3)
    assert ae(x).shape == (7, 5)
    # last decoder layer is Linear, not a bounded activation
    assert isinstance(ae.decoder[-1], torch.nn.Linear)
    assert ae.config == {
        "model": "AutoEncoder",
        "in_dim": 5,
        "hidden_layer_sizes": [16, 8],
        "latent_dim": 3,
    }


def test_autoencoder_default_sizes():
    ae = AutoEncoder(10)
    assert ae.hidden_layer_sizes == (512, 256, 128)
    assert ae.latent_dim == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"in_dim": 0}, r"'in_dim' parameter .* Got 0 instead"),
        ({"in_dim": 3, "hidden_layer_sizes": 64}, r"'hidden_layer_sizes' .* Got 64"),
        ({"in_dim": 3, "hidden_layer_sizes": ()}, r"'hidden_layer_sizes' .* Got \(\)"),
        ({"in_dim": 3, "latent_dim": -1}, r"'latent_dim' .* Got -1"),
    ],
)
def test_model_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AutoEncoder(**kwargs)


def test_vae_sampling_and_mean():
    torch.manual_seed(0)
    vae = VariationalAutoEncoder(4, hidden_layer_sizes=(8,))
    x = torch.randn(6, 4)
    mu, logvar = vae.encode_distribution(x)
    assert mu.shape == logvar.shape == (6, 2)
    assert torch.equal(vae.encode(x), mu)
    vae.train()
    assert not torch.equal(vae(x), vae(x))  # reparameterisation draws fresh noise
    vae.eval()
    assert torch.equal(vae(x), vae.decode(mu))


def test_autoencoder_reconstructs_zscored_data(tmp_path):
    """A linear output layer reaches negative, unnormalised z-scored targets."""
    same_seeds(0)
    rng = np.random.default_rng(1)
    z = rng.normal(size=(512, 2))
    x = z @ rng.normal(size=(2, 5)) + 0.5 * np.sin(z[:, :1])
    x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
    assert x.min() < -1.5
    ex = Experiment("rec", tmp_path, AutoEncoder, {"hidden_layer_sizes": (32, 16)}, x)
    ex.run_model(
        num_epochs=60, patience=None, batch_size=64, learning_rate=3e-3, progress_bar=False
    )
    ex.get_latent()  # loads the best checkpoint into ex.model
    with torch.inference_mode():
        rec = ex.model(torch.from_numpy(x).to(ex.device)).cpu().numpy()
    mse = float(np.mean((rec - x) ** 2))
    assert mse < 0.05, mse
    assert rec.min() < -1.0  # negative values are reproduced
    assert not np.allclose(rec.sum(1), 1.0)  # no softmax constraint


# --------------------------------------------------------------------------- helpers
def test_noise_std_is_noise_times_feature_std():
    g = torch.Generator().manual_seed(0)
    x = torch.full((200_000, 2), 5.0)
    noisy = add_feature_noise(x, 0.5, torch.tensor([1.0, 4.0]), generator=g)
    assert torch.equal(x, torch.full((200_000, 2), 5.0))  # input untouched
    np.testing.assert_allclose((noisy - x).std(0).numpy(), [0.5, 2.0], rtol=0.01)
    # the upstream bug used (noise * std) ** 2, i.e. 0.25 and 4.0
    np.testing.assert_allclose((noisy - x).mean(0).numpy(), [0.0, 0.0], atol=0.02)


def test_run_model_passes_feature_std_to_noise(tmp_path, cube, monkeypatch):
    seen = []
    real = exp_mod.add_feature_noise

    def spy(x, noise, std, generator=None):
        seen.append((noise, std.clone()))
        return real(x, noise, std, generator)

    monkeypatch.setattr(exp_mod, "add_feature_noise", spy)
    data = cube * np.array([1, 2, 3, 4], dtype=np.float32)
    ex = _experiment(tmp_path, data)
    ex.run_model(num_epochs=1, noise_added=0.2, **FAST)
    assert len(seen) == int(np.ceil(80 / 32))
    noise, std = seen[0]
    assert noise == 0.2
    np.testing.assert_allclose(std.cpu().numpy(), data.reshape(-1, 4).std(0), rtol=1e-4)


def test_kld_loss_values():
    assert float(kld_loss(torch.zeros(4, 2), torch.zeros(4, 2))) == 0.0
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, np.log(2.0)]])
    expected = -0.5 * np.mean([1 + 0 - 1 - 1, 1 + np.log(2) - 0 - 2])
    assert float(kld_loss(mu, logvar)) == pytest.approx(expected)


def test_scale_to_unit():
    x = torch.tensor([[-2.0, 0.5, 7.0], [2.0, 0.5, 9.0], [0.0, 0.5, 8.0]])
    y = scale_to_unit(x)
    np.testing.assert_allclose(y.numpy(), [[0, 0, 0], [1, 0, 1], [0.5, 0, 0.5]])
    inside = torch.tensor([[0.1, 0.9], [0.3, 0.2]])
    assert scale_to_unit(inside) is inside


def test_train_eval_split_is_85_15():
    tr, ev = train_eval_split(200)
    assert (len(tr), len(ev)) == (170, 30)
    assert np.intersect1d(tr, ev).size == 0
    assert np.array_equal(np.sort(np.concatenate([tr, ev])), np.arange(200))
    tr2, ev2 = train_eval_split(200)
    assert np.array_equal(ev, ev2)  # fixed seed
    with pytest.raises(ValueError, match=r"'chosen_dataset' .* Got '1 samples'"):
        train_eval_split(1)


def test_feature_dataset(cube):
    all_ds = FeatureDataset(cube)
    test_ds = FeatureDataset(cube, "test")
    train_ds = FeatureDataset(cube, "train")
    assert (len(all_ds), len(train_ds), len(test_ds)) == (80, 68, 12)
    assert torch.equal(all_ds[3], torch.from_numpy(cube.reshape(-1, 4)[3]))
    noisy = FeatureDataset(cube, noise=0.1)
    assert not torch.equal(noisy[0], all_ds[0])
    with pytest.raises(ValueError, match=r"'setname' .* Got 'val'"):
        FeatureDataset(cube, "val")


# --------------------------------------------------------------------------- experiment
def test_same_seeds_makes_runs_identical(tmp_path, cube):
    runs = []
    for i in range(2):
        same_seeds(7)
        ex = _experiment(tmp_path / str(i), cube)
        ex.run_model(num_epochs=3, noise_added=0.1, task="train_eval", **FAST)
        runs.append((ex.history, ex.get_latent()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    same_seeds(8)
    other = _experiment(tmp_path / "2", cube).run_model(num_epochs=3, **FAST)
    assert not np.array_equal(other.get_latent(), runs[0][1])


def test_history_and_latent_shape(tmp_path, cube):
    ex = _experiment(tmp_path, cube).run_model(num_epochs=3, **FAST)
    assert set(ex.history) == {"train_loss", "eval_loss", "lr"}
    assert all(len(v) == 3 for v in ex.history.values())
    assert all(np.isnan(ex.history["eval_loss"]))  # train_all has no eval set
    assert ex.history["lr"] == [1e-3] * 3
    z = ex.get_latent()
    assert z.shape == (80, 2) and z.dtype == np.float32
    assert ex.device.type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("task", ["train_all", "train_eval"])
def test_early_stopping_with_constant_loss(tmp_path, cube, task):
    ex = _experiment(tmp_path, cube)
    ex.run_model(num_epochs=20, patience=3, task=task, **{**FAST, "learning_rate": 0.0})
    assert len(ex.history["train_loss"]) == 4  # patience + 1
    assert ex.stopped_epoch_ == 4
    assert ex.best_epoch_ == 1


def test_patience_none_runs_every_epoch(tmp_path, cube):
    ex = _experiment(tmp_path, cube)
    ex.run_model(num_epochs=5, patience=None, **{**FAST, "learning_rate": 0.0})
    assert len(ex.history["train_loss"]) == 5 and ex.stopped_epoch_ is None


def test_train_eval_monitors_eval_loss_and_get_latent_uses_best(tmp_path, cube, monkeypatch):
    scripted = iter([1.0, 0.5, 0.9, 0.8, 0.7, 0.6, 0.4])
    monkeypatch.setattr(Experiment, "_evaluate", lambda self, *a: next(scripted))
    ex = _experiment(tmp_path, cube, save_model_every_epoch=True)
    ex.run_model(num_epochs=10, patience=3, task="train_eval", **{**FAST, "learning_rate": 0.05})
    assert ex.history["eval_loss"] == [1.0, 0.5, 0.9, 0.8, 0.7]
    assert (ex.best_epoch_, ex.best_loss_, ex.stopped_epoch_) == (2, 0.5, 5)
    assert (len(ex.train_indices_), len(ex.eval_indices_)) == (68, 12)

    best = ex.get_latent()
    epoch2 = ex.get_latent(tmp_path / "Model-t" / "params" / "Model-t_epoch002.pt")
    epoch5 = ex.get_latent(tmp_path / "Model-t" / "params" / "Model-t_epoch005.pt")
    np.testing.assert_array_equal(best, epoch2)
    assert not np.allclose(best, epoch5)
    meta = json.loads(ex.best_checkpoint_.with_suffix(".json").read_text())
    assert (meta["epoch"], meta["loss"]) == (2, 0.5)


def test_get_latent_loads_best_file_not_current_weights(tmp_path, cube, monkeypatch):
    ex = _experiment(tmp_path, cube).run_model(num_epochs=2, **FAST)
    expected = ex.get_latent()
    with torch.no_grad():
        for p in ex.model.parameters():
            p.add_(1.0)  # wreck the live weights
    loaded = []
    real_load = torch.load

    def spy(path, *args, **kwargs):
        loaded.append((path, kwargs.get("weights_only")))
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    np.testing.assert_array_equal(ex.get_latent(), expected)
    assert loaded == [(ex.best_checkpoint_, True)]


def test_checkpoints_written_under_results_dir(tmp_path, cube):
    ex = _experiment(tmp_path, cube, descriptor="zscore", save_model_every_epoch=True)
    ex.run_model(num_epochs=3, **FAST)
    params = tmp_path / "Model-zscore" / "params"
    names = sorted(p.name for p in params.iterdir())
    assert names == sorted(
        [f"Model-zscore_{t}.{e}" for t in ("best", "epoch001", "epoch002", "epoch003") for e in ("pt", "json")]
    )  # fmt: skip
    state = torch.load(params / "Model-zscore_best.pt", weights_only=True)
    assert set(state) == set(ex.model.state_dict())
    cfg = json.loads((params / "Model-zscore_epoch003.json").read_text())["config"]
    assert cfg == {
        "model": "AutoEncoder",
        "in_dim": 4,
        "hidden_layer_sizes": [16, 8],
        "latent_dim": 2,
    }


def test_no_epoch_files_by_default(tmp_path, cube):
    _experiment(tmp_path, cube).run_model(num_epochs=2, **FAST)
    assert sorted(p.suffix for p in (tmp_path / "Model-t" / "params").iterdir()) == [".json", ".pt"]


def test_load_model_rebuilds_from_json(tmp_path, cube):
    src = Experiment("a", tmp_path, VariationalAutoEncoder, {"hidden_layer_sizes": (12,)}, cube)
    src.run_model(num_epochs=1, **FAST)
    dst = _experiment(tmp_path, cube, descriptor="b")
    model = dst.load_model(src.best_checkpoint_)
    assert isinstance(model, VariationalAutoEncoder) and model.hidden_layer_sizes == (12,)
    np.testing.assert_array_equal(dst.get_latent(), src.get_latent())
    with pytest.raises(SigmaFileError, match=r"File '.*nope.pt' does not exist"):
        dst.load_model(tmp_path / "nope.pt")


def test_kld_lambda_makes_model_variational(tmp_path, cube, caplog):
    same_seeds(0)
    ex = _experiment(tmp_path, cube)
    assert type(ex.model) is AutoEncoder
    with caplog.at_level("INFO", logger="sigma.embedding.experiment"):
        ex.run_model(num_epochs=2, KLD_lambda=0.1, **FAST)
    assert isinstance(ex.model, VariationalAutoEncoder)
    assert ex.model.hidden_layer_sizes == (16, 8)
    assert "VariationalAutoEncoder" in caplog.text
    meta = json.loads(ex.best_checkpoint_.with_suffix(".json").read_text())
    assert meta["model_class"] == "VariationalAutoEncoder"
    z1, z2 = ex.get_latent(), ex.get_latent()
    np.testing.assert_array_equal(z1, z2)  # latent is the posterior mean


def test_kld_term_is_added_to_loss(tmp_path, cube):
    losses = {}
    for lam in (0.0, 10.0):
        same_seeds(0)
        ex = Experiment("v", tmp_path, VariationalAutoEncoder, SMALL, cube)
        ex.run_model(num_epochs=1, KLD_lambda=lam, **{**FAST, "learning_rate": 0.0})
        losses[lam] = ex.history["train_loss"][0]
    assert losses[10.0] > losses[0.0]


@pytest.mark.parametrize("criterion", ["MSE", "BCE", "L1", "mse"])
def test_each_criterion_trains(tmp_path, cube, criterion):
    same_seeds(0)
    ex = _experiment(tmp_path, cube)
    ex.run_model(num_epochs=8, criterion=criterion, **{**FAST, "learning_rate": 3e-3})
    loss = ex.history["train_loss"]
    assert all(np.isfinite(loss)) and loss[-1] < loss[0]
    if criterion == "BCE":
        assert min(loss) > 0  # BCE with logits on [0, 1] targets is positive


def test_scheduler_lowers_lr(tmp_path, cube):
    ex = _experiment(tmp_path, cube)
    # threshold=1 in 'rel' mode: no epoch counts as better, so every step reduces the lr
    ex.run_model(
        num_epochs=4, lr_scheduler_args={"factor": 0.5, "patience": 0, "threshold": 1.0}, **FAST
    )
    np.testing.assert_allclose(ex.history["lr"], [1e-3, 5e-4, 2.5e-4, 1.25e-4])


def test_scheduler_min_lr_and_unknown_key(tmp_path, cube):
    ex = _experiment(tmp_path, cube)
    args = {"factor": 0.1, "patience": 0, "threshold": 1.0, "min_lr": 5e-4}
    ex.run_model(num_epochs=3, lr_scheduler_args=args, **FAST)
    np.testing.assert_allclose(ex.history["lr"], [1e-3, 5e-4, 5e-4])
    with pytest.raises(ValueError, match=r"'lr_scheduler_args' .*unknown key 'factr'"):
        ex.run_model(num_epochs=1, lr_scheduler_args={"factr": 0.5}, **FAST)


def test_print_latent_draws_figure_headless(tmp_path, cube):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ex = _experiment(tmp_path, cube).run_model(num_epochs=1, print_latent=True, **FAST)
    fig = ex.latent_figure_
    assert fig is not None
    offsets = fig.axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(offsets, ex.get_latent(), rtol=1e-6)
    plt.close(fig)


@pytest.mark.parametrize(
    ("env", "progress_bar", "shown"),
    [
        (None, None, True),  # variable unset: bars show
        ("1", None, True),
        ("0", None, False),  # SIGMA_PROGRESS=0 turns the default bar off
        ("false", None, False),
        ("0", True, True),  # an explicit argument wins over the variable
        ("1", False, False),
    ],
)
def test_progress_bar_follows_sigma_progress(tmp_path, cube, monkeypatch, capsys, env, progress_bar, shown):
    if env is None:
        monkeypatch.delenv("SIGMA_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("SIGMA_PROGRESS", env)
    ex = _experiment(tmp_path, cube)
    ex.run_model(num_epochs=2, **{**FAST, "progress_bar": progress_bar})
    err = capsys.readouterr().err
    assert (f"{ex.model_name}: 100%" in err and "2/2" in err and "epoch" in err) is shown, err
    assert len(ex.history["train_loss"]) == 2


def test_tutorial_call(tmp_path):
    """The tutorial's cell, verbatim apart from the epoch count and the data."""
    same_seeds(2)
    data = np.random.default_rng(2).normal(size=(6, 7, 5)).astype(np.float32)
    ex = Experiment(
        descriptor="zscore",
        general_results_dir=tmp_path,
        model=AutoEncoder,
        model_args={"hidden_layer_sizes": (512, 256, 128)},
        chosen_dataset=data,
        save_model_every_epoch=True,
    )
    with pytest.warns(UserWarning, match="'verbose' is not accepted"):
        ex.run_model(
            num_epochs=2,
            patience=50,
            batch_size=64,
            learning_rate=1e-4,
            weight_decay=0.0,
            task="train_all",
            noise_added=0.0,
            KLD_lambda=0.0,
            criterion="MSE",
            lr_scheduler_args={
                "factor": 0.5,
                "patience": 5,
                "threshold": 1e-2,
                "min_lr": 1e-6,
                "verbose": True,
            },
        )
    latent = ex.get_latent()
    assert latent.shape == (6 * 7, 2)
    assert (tmp_path / "Model-zscore" / "params" / "Model-zscore_epoch002.pt").is_file()


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"criterion": "Huber"},
            r"'criterion' parameter must be one of 'MSE', 'BCE', 'L1'\. Got 'Huber'",
        ),
        ({"task": "eval"}, r"'task' parameter .* Got 'eval' instead"),
        ({"batch_size": 0}, r"'batch_size' parameter must be an int >= 1\. Got 0 instead"),
        ({"batch_size": 2.5}, r"'batch_size' .* Got 2\.5"),
        ({"num_epochs": 0}, r"'num_epochs' .* Got 0"),
        ({"patience": -1}, r"'patience' .* Got -1"),
        ({"learning_rate": float("nan")}, r"'learning_rate' .* Got nan"),
        ({"noise_added": -0.1}, r"'noise_added' .* Got -0\.1"),
        ({"KLD_lambda": -1.0}, r"'KLD_lambda' .* Got -1\.0"),
        ({"print_latent": "yes"}, r"'print_latent' .* Got 'yes'"),
        ({"progress_bar": "yes"}, r"'progress_bar' parameter must be True, False or None\. Got 'yes'"),
        ({"lr_scheduler_args": 0.5}, r"'lr_scheduler_args' .* Got 0\.5"),
        ({"task": "train_eval", "eval_fraction": 1.5}, r"'eval_fraction' .* Got 1\.5"),
    ],
)
def test_run_model_bad_values(tmp_path, cube, kwargs, match):
    ex = _experiment(tmp_path, cube)
    with pytest.raises(ValueError, match=match):
        ex.run_model(**{"num_epochs": 1, **FAST, **kwargs})


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (np.full((3, 3, 2), np.nan, dtype=np.float32), r"'chosen_dataset' .*Got 'an array with 18 NaN/inf values'"),
        (np.zeros(5), r"'chosen_dataset' .*\(H, W, F\) or \(N, F\)\. Got 'an array of shape \(5,\)'"),
        (np.zeros((2, 2, 2, 2)), r"Got 'an array of shape \(2, 2, 2, 2\)'"),
        (np.zeros((0, 3)), r"non-empty array\. Got 'an array of shape \(0, 3\)'"),
        (None, r"'chosen_dataset' .* Got None"),
        (np.array([["a", "b"]]), r"numeric array\. Got 'an array of dtype <U1'"),
    ],
)  # fmt: skip
def test_bad_dataset(tmp_path, data, match):
    with pytest.raises(ValueError, match=match):
        Experiment("d", tmp_path, AutoEncoder, SMALL, data)


def test_bad_constructor_values(tmp_path, cube):
    with pytest.raises(ValueError, match=r"'descriptor' .* Got 'a/b'"):
        Experiment("a/b", tmp_path, AutoEncoder, SMALL, cube)
    with pytest.raises(ValueError, match=r"'model_args' .*AutoEncoder"):
        Experiment("d", tmp_path, AutoEncoder, {"hidden": (3,)}, cube)
    with pytest.raises(ValueError, match=r"'model' .* Got 'not a model'"):
        Experiment("d", tmp_path, "not a model", None, cube)
    with pytest.raises(ValueError, match=r"'model' .*in_dim=4.* Got 'AutoEncoder with in_dim=3'"):
        Experiment("d", tmp_path, AutoEncoder(3, (8,)), None, cube)
    with pytest.raises(ValueError, match=r"'device' .* Got 'tpu'"):
        Experiment("d", tmp_path, AutoEncoder, SMALL, cube, device="tpu")
    assert isinstance(SigmaValueError("x"), ValueError)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present")
def test_cuda_requested_without_cuda(tmp_path, cube):
    with pytest.raises(ValueError, match=r"'device' .*CUDA is not available.* Got 'cuda'"):
        Experiment("d", tmp_path, AutoEncoder, SMALL, cube, device="cuda")


def test_model_instance_is_used(tmp_path, cube):
    model = AutoEncoder(4, (8,), latent_dim=3)
    ex = Experiment("i", tmp_path, model, None, cube).run_model(num_epochs=1, **FAST)
    assert ex.model is model
    assert ex.get_latent().shape == (80, 3)


# --------------------------------------------------------------------------- packaging
def test_tutorial_import_paths():
    from sigma.embedding import experiment
    from sigma.models import AutoEncoder as A1
    from sigma.models import VariationalAutoEncoder as V1
    from sigma.models.autoencoder import AutoEncoder as A2
    from sigma.src.dim_reduction import Experiment as E1
    from sigma.src.utils import FeatureDataset as F1
    from sigma.src.utils import same_seeds as s1

    assert A1 is A2 is AutoEncoder and V1 is VariationalAutoEncoder
    assert E1 is experiment.Experiment and F1 is FeatureDataset and s1 is same_seeds
    import sigma.models

    assert sorted(sigma.models.__all__) == ["AutoEncoder", "VariationalAutoEncoder"]
    for name in sigma.models.__all__:  # upstream listed a missing "Autoencoder"
        assert getattr(sigma.models, name)


def test_import_sigma_embedding_does_not_import_torch():
    code = "import sys, sigma.embedding, sigma.models; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
