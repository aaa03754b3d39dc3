"""Configuration schema: defaults, example, unknown keys, bad values."""

from __future__ import annotations

import tomllib

import pytest

from sigma.pipeline.config import (
    ConfigError,
    default_config,
    example_toml,
    load_config,
    validate_config,
)


def test_example_is_valid_and_equals_defaults():
    text = example_toml()
    assert validate_config(tomllib.loads(text)) == default_config()
    for key in ("n_neighbors", "min_dist", "hidden_layer_sizes", "lr_scheduler_args", "KLD_lambda",
                "seed_clusters", "high_res_path", "remove_first_peak", "bse", "normalisation",
                "reader_args", "method_args", "task", "criterion"):
        assert key in text


def test_tutorial_defaults():
    cfg = default_config()
    assert cfg["preprocess"] == {"bin": "auto", "peak_intensity_normalisation": True, "remove_first_peak": 0.1}
    assert cfg["latent"]["umap"]["n_neighbors"] == 15 and cfg["latent"]["umap"]["min_dist"] == 0.02
    assert cfg["latent"]["autoencoder"]["hidden_layer_sizes"] == [512, 256, 128]
    assert cfg["features"]["normalisation"] == ["neighbour_averaging", "zscore"]


@pytest.mark.parametrize(
    ("user", "match"),
    [
        ({"latent": {"umap": {"n_neighbours": 5}}},
         r"Unknown key 'latent\.umap\.n_neighbours'; did you mean 'latent\.umap\.n_neighbors'\? "
         r"Accepted keys in \[latent\.umap\]: n_neighbors, min_dist"),
        ({"preproces": {}}, r"Unknown key 'preproces'; did you mean 'preprocess'\?"),
        ({"clustering": {"method_args": {"n_component": 3}}},
         r"Unknown key 'clustering\.method_args\.n_component' for GaussianMixture; "
         r"did you mean 'clustering\.method_args\.n_components'\?"),
        ({"nmf": {"method_args": {"inti": "nndsvd"}}}, r"'nmf\.method_args\.inti'.*did you mean 'nmf\.method_args\.init'"),
    ],
)
def test_unknown_keys_name_dotted_path_and_suggest(user, match):
    with pytest.raises(ConfigError, match=match):
        validate_config(user)


@pytest.mark.parametrize(
    ("user", "match"),
    [
        ({"preprocess": {"bin": [0, 2]}}, r"The 'preprocess\.bin' parameter must be \"auto\" or a pair of positive ints \[ny, nx\]\. Got \[0, 2\] instead\."),
        ({"latent": {"method": "pca"}}, r"The 'latent\.method' parameter must be one of 'umap', 'autoencoder'\. Got 'pca' instead\."),
        ({"clustering": {"method": "KMeans"}}, r"'clustering\.method' parameter must be one of 'GaussianMixture', 'BayesianGaussianMixture', 'Kmeans', 'Birch', 'HDBSCAN'"),
        ({"features": {"normalisation": ["zscore", "l2"]}}, r"'features\.normalisation' parameter must be one of 'neighbour_averaging', 'zscore', 'softmax'\. Got 'l2'"),
        ({"features": {"lines": ["Fe"]}}, r"'features\.lines' parameter must be X-ray lines .*Got 'Fe'"),
        ({"latent": {"umap": {"min_dist": -1}}}, r"'latent\.umap\.min_dist' parameter must be a number in \[0\.0, inf\]\. Got -1"),
        ({"latent": {"autoencoder": {"run": {"task": "train"}}}}, r"'latent\.autoencoder\.run\.task'.*'train_all', 'train_eval'"),
        ({"clustering": {"method_args": {"n_components": 0}}}, r"The 'clustering\.method_args\.n_components' parameter of GaussianMixture must be an int in the range \[1, inf\)\. Got 0"),
        ({"nmf": {"n_components": 0}}, r"'nmf\.n_components' parameter must be \"All\" or an int >= 1\. Got 0"),
        ({"report": {"enabled": "yes"}}, r"'report\.enabled' parameter must be true or false\. Got 'yes'"),
    ],
)
def test_bad_values_name_key_and_accepted_values(user, match):
    with pytest.raises(ConfigError, match=match):
        validate_config(user)


def test_kmeans_accepts_n_components_spelling():
    cfg = validate_config({"clustering": {"method": "Kmeans", "method_args": {"n_components": 4}}})
    assert cfg["clustering"]["method_args"] == {"n_components": 4}


def test_load_config_file_errors(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[latent\nmethod = 'umap'\n")
    with pytest.raises(OSError, match=r"c\.toml' is not valid TOML"):
        load_config(p)
    with pytest.raises(OSError, match=r"missing\.toml' does not exist"):
        load_config(tmp_path / "missing.toml")
    p.write_text("[latent.umap]\nn_neighbours = 3\n")
    with pytest.raises(ConfigError, match=r"Unknown key 'latent\.umap\.n_neighbours' in .*c\.toml; did you mean"):
        load_config(p)


def test_number_of_phases_is_automatic_by_default():
    cfg = default_config()
    assert cfg["clustering"]["method_args"]["n_components"] == "auto"
    assert cfg["clustering"]["max_components"] == 20
    # another mixture or k-means without arguments stays automatic; HDBSCAN gets its own
    assert validate_config({"clustering": {"method": "Kmeans"}})["clustering"]["method_args"] == {"n_components": "auto"}
    assert validate_config({"clustering": {"method": "HDBSCAN"}})["clustering"]["method_args"] == {}
    fixed = validate_config({"clustering": {"method_args": {"n_components": 6}}})
    assert fixed["clustering"]["method_args"] == {"n_components": 6}


@pytest.mark.parametrize(("user", "match"), [
    ({"clustering": {"method": "HDBSCAN", "method_args": {"n_components": "auto"}}},
     r"The 'clustering\.method_args\.n_components' parameter must be an int for method 'HDBSCAN' "
     r"\(\"auto\" is accepted for GaussianMixture, BayesianGaussianMixture, Kmeans\)\. Got 'auto' instead"),
    ({"clustering": {"method": "Birch", "method_args": {"n_clusters": "auto"}}},
     r"'clustering\.method_args\.n_clusters' parameter must be an int for method 'Birch'"),
    ({"clustering": {"max_components": 1}}, r"'clustering\.max_components' parameter must be an int in \[2, inf\]"),
    ({"features": {"source": "pca"}}, r"'features\.source' parameter must be one of 'lines', 'spectrum', 'both'"),
])
def test_automatic_number_rejects(user, match):
    with pytest.raises(ConfigError, match=match):
        validate_config(user)
