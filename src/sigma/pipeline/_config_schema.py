"""The schema of the pipeline's configuration: every table and key of the TOML file, with its
default, its checker (:mod:`sigma.pipeline._config_checks`) and a line of documentation.
:mod:`sigma.pipeline.config` validates, fills and renders configurations from it.

Examples
--------
>>> _SCHEMA.items["preprocess"].items["remove_first_peak"].default
0.1
"""

from __future__ import annotations

from ._config_checks import (
    CLUSTERING_METHODS,
    NORMALISATIONS,
    Opt,
    Table,
    _all_or_int,
    _all_or_ints,
    _bin,
    _bool,
    _choice,
    _elements_or_auto,
    _end_or_false,
    _float,
    _int,
    _int_list,
    _lines,
    _norm_chain,
    _path_or_empty,
    _phase_classes,
    _probability,
    _seeds,
    _str,
    _str_list,
)

_SCHEMA = Table(
    "SIGMA2 pipeline configuration",
    {
        "input": Table(
            "How input files are opened (SEMDataset / TEMDataset).",
            {
                "kind": Opt("auto", _choice("auto", "SEM", "TEM"),
                            "SEMDataset or TEMDataset; \"auto\": TEMDataset for a file that says it holds EDS_TEM data, else SEMDataset"),
                "lazy": Opt(False, _bool, "read the cube lazily (dask, row chunks); forced on with --workers/--scheduler"),
                "nav_image": Opt("", _path_or_empty, "image file to use as navigation image (nag_file_path); \"\" uses the file's own"),
                "reader_args": Table(
                    "Extra keywords for the reader, e.g. site = 1 for .h5oina, energy_scale / energy_offset for .rpl.",
                    free_default={},
                ),
            },
        ),
        "preprocess": Table(
            "Pre-processing of the spectra (the tutorial's rebin / normalise / crop cell).",
            {
                "bin": Opt("auto", _bin, "rebin_signal(size=(ny, nx)); \"auto\": [3, 3] for an SEM map, [2, 2] for a TEM map (particles a few pixels across); [1, 1] keeps full resolution"),
                "peak_intensity_normalisation": Opt(True, _bool, "scale every pixel's spectrum to sum 1"),
                "remove_first_peak": Opt(0.1, _end_or_false, "crop spectra below this energy (keV); false keeps them"),
            },
        ),
        "features": Table(
            "Feature vectors: X-ray line maps, optional BSE image, normalisation chain.",
            {
                "lines": Opt("auto", _lines, "\"auto\" (lines named by the file, else proposed from the sum spectrum) or a list such as [\"Fe_Ka\", \"Si_Ka\"]"),
                "second_look": Opt(True, _bool, "with lines = \"auto\" and a file naming no elements: after clustering, fit each cluster's summed spectrum (identification's element detection): add the line of an element significant (5 sigma) in a cluster that no feature line covers (a minority phase's element, buried in the sum spectrum), remove a proposed line whose element no cluster shows when another found element's line explains its peak (Cu Kb taken for Os La), and cluster once more if the list changed; run.json: dataset.lines_review"),
                "min_line_counts": Opt(2.0, _float(0.0), "with lines = \"auto\": drop lines with fewer counts per pixel than this in their brightest 5 % of pixels (maps of mostly 0s and 1s split phases once z-scored); 0 keeps every line"),
                "bse": Opt(False, _bool, "add the navigation image as the feature 'Navigator' (get_feature_maps_with_nav_img)"),
                "normalisation": Opt(["neighbour_averaging", "zscore"], _norm_chain, "applied in order; from " + ", ".join(NORMALISATIONS)),
                "source": Opt("lines", _choice("lines", "spectrum", "both"), "what the latent space sees: the line maps, Poisson-PCA scores of the whole binned spectrum (sigma.preprocessing.spectral_features, as HyperSpy's decomposition with normalize_poissonian_noise), or both side by side; the normalisation chain applies to each"),
                "spectrum_components": Opt(8, _int(1), "Poisson-PCA scores kept with source = \"spectrum\" or \"both\""),
            },
        ),
        "latent": Table(
            "Latent space projection.",
            {
                "method": Opt("umap", _choice("umap", "autoencoder"), "projection method"),
                "fit_pixels": Opt(20000, _int(0), "fit on at most this many random pixels and place/encode the rest; 0 fits on all (slow beyond ~50 000 pixels)"),
                "extend": Opt("knn", _choice("knn", "transform"), "UMAP: place the other pixels from their nearest fitted pixels (knn, fast) or with UMAP.transform"),
                "umap": Table(
                    "UMAP parameters (umap.UMAP).",
                    {
                        "n_neighbors": Opt(15, _int(2), "local (small) versus global (large) structure"),
                        "min_dist": Opt(0.02, _float(0.0), "minimum distance of points in latent space"),
                        "n_components": Opt(2, _int(1), "latent dimensions"),
                        "metric": Opt("euclidean", _str, "distance metric of the feature space"),
                        "random_state": Opt(0, _int(0), "seed (makes the projection reproducible)"),
                        "n_epochs": Opt(0, _int(0), "optimisation epochs; 0 lets UMAP choose (500 below 10000 pixels, else 200)"),
                    },
                ),
                "autoencoder": Table(
                    "Autoencoder (sigma.embedding.experiment.Experiment).",
                    {
                        "seed": Opt(2, _int(0), "same_seeds(seed) before building the model"),
                        "descriptor": Opt("zscore", _str, "run name; checkpoints in <out>/<stem>/autoencoder/Model-<descriptor>/"),
                        "model": Opt("AutoEncoder", _choice("AutoEncoder", "VariationalAutoEncoder"), "network class"),
                        "hidden_layer_sizes": Opt([512, 256, 128], _int_list(lo=1, allow_empty=False), "widths of the encoder's hidden layers"),
                        "latent_dim": Opt(2, _int(1), "latent dimensions"),
                        "save_model_every_epoch": Opt(False, _bool, "keep one checkpoint per epoch"),
                        "device": Opt("auto", _str, "\"auto\" (CUDA when available), \"cpu\", \"cuda\", \"mps\""),
                        "run": Table(
                            "Experiment.run_model options.",
                            {
                                "num_epochs": Opt(50, _int(1), "passes over the training pixels"),
                                "patience": Opt(50, _int(1), "epochs without improvement before stopping"),
                                "batch_size": Opt(64, _int(1), "pixels per optimiser step"),
                                "learning_rate": Opt(1e-4, _float(0.0, lo_open=True), "initial Adam learning rate"),
                                "weight_decay": Opt(0.0, _float(0.0), "Adam L2 penalty"),
                                "task": Opt("train_all", _choice("train_all", "train_eval"), "train on all pixels, or 85 % with 15 % held out"),
                                "noise_added": Opt(0.0, _float(0.0), "denoising: input noise relative to each feature's std"),
                                "KLD_lambda": Opt(0.0, _float(0.0), "> 0 trains a variational autoencoder"),
                                "criterion": Opt("MSE", _choice("MSE", "BCE", "L1"), "reconstruction loss"),
                                "lr_scheduler_args": Table(
                                    "ReduceLROnPlateau arguments (an empty table disables the scheduler).",
                                    {
                                        "factor": Opt(0.5, _float(0.0, 1.0, lo_open=True), "LR multiplier on plateau"),
                                        "patience": Opt(5, _int(0), "epochs without improvement before reducing"),
                                        "threshold": Opt(1e-2, _float(0.0), "minimum change that counts as improvement"),
                                        "min_lr": Opt(1e-6, _float(0.0), "lower bound on the learning rate"),
                                        "verbose": Opt(True, _bool, "log learning-rate changes"),
                                    },
                                    empty_disables=True,
                                ),
                            },
                        ),
                    },
                ),
            },
        ),
        "clustering": Table(
            "Clustering of the latent space (PixelSegmenter).",
            {
                "method": Opt("GaussianMixture", _choice(*CLUSTERING_METHODS), "one of " + ", ".join(CLUSTERING_METHODS)),
                "method_args": Table(
                    "Keywords of the estimator (checked against its parameters). HDBSCAN example: "
                    "{min_cluster_size = 10, min_samples = 10, cluster_selection_epsilon = 0.1}.",
                    free_default={"n_components": "auto", "random_state": 0, "init_params": "kmeans"},
                ),
                "max_components": Opt(20, _int(2), "with n_components = \"auto\" (GaussianMixture, BayesianGaussianMixture, Kmeans): clusters of the over-segmentation that the counts then merge into phases (sigma.clustering.auto_k)"),
                "refine": Opt("spectra", _choice("spectra", "none"), "with a fixed number of clusters: reassign each pixel to the cluster whose mean spectrum best explains its counts, with a neighbour prior (undoes the boundary blur of neighbour_averaging); n_components = \"auto\" always does this; not used with --shared-phases"),
                "smoothness": Opt(1.0, _float(0.0), "weight of each agreeing neighbour in that prior; 0 scores every pixel alone"),
            },
        ),
        "nmf": Table(
            "Unmixing of the cluster spectra (get_unmixed_spectra_profile[_init_guess]).",
            {
                "enabled": Opt(True, _bool, "run NMF and write weights, components and abundance maps"),
                "clusters": Opt("All", _all_or_ints, "\"All\" or a list of cluster ids (clusters_to_be_calculated)"),
                "n_components": Opt(4, _all_or_int, "number of end-members, or \"All\" (one per cluster)"),
                "normalised": Opt(False, _bool, "normalise the cluster spectra before NMF"),
                "method": Opt("NMF", _choice("NMF"), "unmixing algorithm"),
                "seed_clusters": Opt("auto", _seeds, "clusters whose spectra start the NMF (initial guess); [] uses method_args.init; \"auto\": every cluster when n_components equals the number of clusters (K spectra into K end-members have no unique unseeded answer), else []"),
                "method_args": Table(
                    "Keywords of sklearn.decomposition.NMF.",
                    free_default={"init": "nndsvd"},
                ),
            },
        ),
        "masks": Table(
            "Binary cluster masks (export_cluster_masks).",
            {
                "export": Opt(True, _bool, "write masks/cluster_<k>.tiff"),
                "high_res_path": Opt("", _path_or_empty, "image whose resolution the masks are upscaled to; \"\" keeps the map's"),
            },
        ),
        "shared": Table(
            "Batch with --shared-phases: one latent space and clustering for all inputs.",
            {
                "pixels_per_input": Opt(20000, _int(10), "balanced sample: pixels drawn from every input to fit the latent space and clusters"),
                "seed": Opt(0, _int(0), "seed of the sample"),
            },
        ),
        "identify": Table(
            "What each cluster is: elements, naming against a phase library, modal statistics, EMSA export.",
            {
                "enabled": Opt(True, _bool, "identify the clusters, write phase_identification.csv, modal statistics and EMSA spectra"),
                "classes": Opt([], _phase_classes, "restrict the bundled library to these classes, e.g. [\"sulfide\", \"oxide\"]; [] keeps all"),
                "library": Opt("", _path_or_empty, "a phase library CSV (columns name, formula, wt_percent, class, group, source, note) used instead of the bundled one; \"\" keeps the bundled"),
                "extra_library": Opt([], _str_list, "library CSV files whose entries are added to the library"),
                "references": Opt([], _str_list, "EMSA/MSA reference spectra added to the library (named by file stem), e.g. phases saved from another map"),
                "nuisance": Opt("auto", _elements_or_auto, "elements fitted but not held against a candidate (coating, grid): \"auto\" is Cu (grid) and C (support film) for TEM, none for SEM"),
                "min_p_value": Opt(0.001, _probability, "a cluster whose best candidate fits worse than this p-value is 'unknown'"),
                "min_significance": Opt(3.0, _float(1.0), "an element is present when removing it raises the fit chi-square by this squared (sigma)"),
                "calibrate": Opt(False, _bool, "learn line sensitivities shared by the clusters of the map (slower; off: no measured gain on the benchmark)"),
                "beam_energy": Opt(0.0, _float(0.0), "kV, when the file gives none; 0 uses the file's"),
                "export_emsa": Opt(True, _bool, "write spectra/cluster_<k>.msa (and NMF components) as EMSA/MSA 1.0"),
                "kfactors": Table(
                    "TEM: Cliff-Lorimer k-factors {\"Fe_Ka\" = 1.45, \"Pt_La\" = 5.08}; when given, cliff_lorimer.csv holds at % per cluster (eXSpy quantification).",
                    free_default={},
                ),
            },
        ),
        "report": Table(
            "The HTML report.",
            {
                "enabled": Opt(True, _bool, "write report.html"),
                "max_latent_points": Opt(20000, _int(100), "points drawn in the latent-space scatter"),
                "alpha": Opt(0.5, _float(0.0, 1.0), "opacity of the phase map over the navigation image"),
            },
        ),
    },
)
