"""The segmenter's naming, modal statistics and EMSA export: current through edits."""

import numpy as np
import pytest

from sigma.clustering import PixelSegmenter
from sigma.datasets import SEMDataset
from sigma.synthetic import make_phantom

PHASES = {"halite": "NaCl", "fluorite": "CaF2", "sylvite": "KCl"}


@pytest.fixture(scope="module")
def seg():
    ph = make_phantom((32, 40), phases=PHASES, counts_per_pixel=60, n_channels=1024,
                      energy_scale=0.02, energy_offset=-0.1, seed=3)
    ds = SEMDataset(ph.to_signal())
    ds.set_feature_list(["Na_Ka", "Cl_Ka", "Ca_Ka", "F_Ka", "K_Ka"])
    ds.normalisation(["zscore"])
    lat = ds.normalised_elemental_data.reshape(-1, 5)
    ps = PixelSegmenter(lat, ds, "GaussianMixture", {"n_components": 3, "random_state": 0})
    return ph, ps


def test_names_follow_the_truth_and_edits(seg):
    ph, base = seg
    ps = base.copy()
    assert ps.cluster_names == {}  # nothing until asked
    res = ps.identify_phases()
    names = ps.cluster_names
    assert isinstance(names, dict) and all(isinstance(k, int) and isinstance(v, str) for k, v in names.items())
    # every cluster is named after the phantom phase covering most of its pixels
    for cid in ps.cluster_ids:
        truth = np.bincount(ph.labels[ps.labels == cid]).argmax()
        assert names[int(cid)].startswith(list(PHASES)[truth])
    assert res.params["library_phases"] >= 150
    label = ps.cluster_label(int(ps.cluster_ids[0]))
    assert label.count("·") == 2 and label.endswith("%")
    # an edit drops the names; the next read re-identifies only what changed
    ids = ps.cluster_ids.tolist()
    ps.merge_clusters(ids[:2])
    assert "identify" not in ps._cache
    merged = ps.cluster_names
    assert set(merged) == set(ps.cluster_ids.tolist())
    assert merged[ids[0]].startswith("unknown")  # NaCl + CaF2 is no single phase
    ps.undo()
    assert ps.cluster_names == names


def test_modal_statistics_use_the_dataset_pixel_size(seg):
    _, ps = seg
    st = ps.modal_statistics()
    assert st.unit == "µm" and st.pixel_size == pytest.approx((0.1, 0.1))
    assert st.area_percent.sum() + 100 * st.noise_pixels / ps.n_pixels == pytest.approx(100.0)
    assert st.n_grains.sum() >= len(st.ids)


def test_export_phase_spectra_round_trips(seg, tmp_path):
    import hyperspy.api as hs

    _, base = seg
    ps = base.copy()
    ps.identify_phases()
    paths = ps.export_phase_spectra(tmp_path)
    assert [p.name for p in paths] == [f"cluster_{i}.msa" for i in ps.cluster_ids]
    s = hs.load(paths[0])
    assert np.allclose(s.data, ps.get_cluster_spectra("sum")[0])
    assert s.axes_manager[0].scale == pytest.approx(0.02)
    assert s.metadata.Acquisition_instrument.SEM.beam_energy == 20.0
    assert ps.cluster_names[int(ps.cluster_ids[0])].split(" ")[0] in s.metadata.General.title
    with pytest.raises(FileExistsError):
        ps.export_phase_spectra(tmp_path)


def test_small_inclusions_are_named_without_their_hosts_counts():
    """On a bulk map the neighbours' share of each cluster's rim pixels is fitted as a known
    offset: ilmenite inclusions of 1.5-3 pixels in quartz and calcite lose the hosts' Si and Ca
    (which their summed counts show), keep their own elements and are named ilmenite."""
    from sigma.synthetic.family import make_grain_phantom

    ph = make_grain_phantom((72, 72), n_phases=3, phases={"quartz": "SiO2", "calcite": "CaCO3", "ilmenite": "FeTiO3"},
                            counts_per_pixel=60, n_channels=1024, energy_scale=0.02, energy_offset=-0.1,
                            inclusions=6, inclusion_radius=(1.5, 3.0), seed=0)  # fmt: skip
    lab = ph.labels
    ps = PixelSegmenter.from_labels(np.zeros((lab.size, 2)), SEMDataset(ph.to_signal()), lab,
                                    features=np.zeros((*lab.shape, 1), np.float32), feature_list=["x"])
    plain = ps.copy().identify_phases(unmix_rims=False)
    assert {"Si", "Ca"} <= set(plain[2].elements.present) and not plain.params["rim_offsets"]
    res = ps.identify_phases()  # the default
    assert res.params["rim_offsets"]
    assert sorted(res[2].elements.present) == ["Fe", "O", "Ti"] and res[2].name.startswith("ilmenite")
    assert res[2].total_counts < plain[2].total_counts  # the hosts' counts are not the inclusion's
    assert [res[k].name.split()[0] for k in (0, 1)] == [plain[k].name.split()[0] for k in (0, 1)]  # the grains
    # the reports stay cached under the spectra and their offsets: a second reading refits nothing
    before = dict(ps._report_cache)
    assert ps._run_identification().names == res.names and ps._report_cache.keys() == before.keys()


def test_a_tem_film_is_named_the_support_not_after_the_edges_of_its_particles():
    """Platinum particles on a carbon film (3 counts a film pixel, 60 a particle pixel, edges
    blurred over 0.7 pixel): the film's summed counts hold the particles' edges and name it
    platinum. Its core pixels show only C and the grid's Cu, so it is named the support film;
    the particles stay platinum (seeds 0-2)."""
    from scipy.ndimage import gaussian_filter

    from sigma.datasets import TEMDataset
    from sigma.synthetic import phase_spectrum
    from sigma.synthetic.family import make_particle_phantom

    for seed in range(3):
        ph = make_particle_phantom((96, 96), particles={"gold": 12}, counts_per_pixel=40, n_channels=1024,
                                   energy_scale=0.02, energy_offset=-0.1, seed=seed)  # fmt: skip
        lab, e = ph.labels, ph.energy_axis
        film = phase_spectrum({"C": 0.97, "Cu": 0.03}, e, kind="TEM", beam_energy=ph.beam_energy)
        pt = phase_spectrum({"Pt": 1.0}, e, kind="TEM", beam_energy=ph.beam_energy)
        a = gaussian_filter((lab > 0).astype(float), 0.7)[..., None]
        ph.spectra = np.random.default_rng(seed).poisson(3.0 * film * (1 - a) + 60.0 * pt * a).astype(np.uint16)
        ps = PixelSegmenter.from_labels(np.zeros((lab.size, 2)), TEMDataset(ph.to_signal()), lab,
                                        features=np.zeros((*lab.shape, 1), np.float32), feature_list=["x"])
        plain = ps.copy().identify_phases(unmix_rims=False)
        assert "Pt" in plain[0].elements.present and plain[0].status != "support"
        res = ps.identify_phases()
        assert (res[0].status, res[0].name) == ("support", "support film (C, Cu)")
        assert res.params["support_core"] == [0] and plain.params["support_core"] == []
        assert res[1].name.startswith("platinum")
