"""Small real scaling-law datasets shipped with the package (sources in ``SOURCES.md``).

>>> from bayes_scaling.datasets import load_dataset, list_datasets
>>> list_datasets()[:3]
['chinchilla', 'datablations', 'gadre_overtraining']
>>> load_dataset("revisiting_nmt").columns.tolist()
['architecture', 'label', 'seen_examples', 'loss', 'train']
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load_dataset", "list_datasets", "dataset_file", "DATASETS"]

#: name -> one-line description (units and provenance are in SOURCES.md)
DATASETS: dict[str, str] = {
    "chinchilla": (
        "Hoffmann et al. 2022 Fig. 4 runs digitised by Epoch AI (245 rows): N parameters, "
        "D tokens (= C/6N), C FLOP, loss nats/token; 'epoch_excluded_top5_loss' marks the 5 "
        "outliers Epoch drops"
    ),
    "datablations": (
        "Muennighoff et al. 2023 data-constrained runs (229 rows of the paper's main fit): N, "
        "D tokens, U unique tokens, epochs = D/U, val_loss on C4 (nats/token)"
    ),
    "gadre_overtraining": (
        "Gadre et al. 2024 over-training grid (104 runs): 3 corpora x 6 sizes x token "
        "multipliers M (D ~ 20 M N); N parameters incl. embeddings, D tokens, loss_c4_val and "
        "loss_openlm in nats/token"
    ),
    "porian_isoflop": (
        "Porian et al. 2024 IsoFLOP points (176 rows), the two configurations whose runs are "
        "each decayed to their own budget: RefinedWeb and OpenWebText2, base hyper-parameters, "
        "standard parameter count, validation loss; C FLOP, N, D = C/6N, loss nats/token"
    ),
    "clip_mammut": (
        "Nezhurina et al. 2025 CLIP vs MaMMUT on DataComp-1.4B (66 rows): each family's compute "
        "frontier of ADE20K zero-shot segmentation error 1 - mIoU; gflops = training GFLOPs"
    ),
    "openclip_imagenet": (
        "Cherti et al. 2023 OpenCLIP (29 final models): ViT-B/32, B/16, L/14 x LAION-80M/400M/2B "
        "x 3B/13B/34B samples seen (+ H/14, g/14); ImageNet-1k zero-shot top-1 error"
    ),
    "steplaw_dense_moe": (
        "Li et al. 2025 Step Law runs (33 cells): dense and mixture-of-experts LMs, best smoothed "
        "training loss over the learning-rate x batch sweep per (active params, tokens)"
    ),
    "steplaw_runs": (
        "Li et al. 2025 Step Law, every run (2,619): dense and MoE LMs over learning rate x batch "
        "size (tokens) x N (active non-embedding params) x D tokens; smoothed final training loss; "
        "diverged runs kept and flagged"
    ),
    "llama3_isoflop": (
        "Llama 3 (2024) Fig. 2 IsoFLOP points, digitised (133 rows): C FLOP (6e18-1e22), D "
        "tokens, N = C/(6D), loss (validation NLL, units as plotted)"
    ),
    "bnsl_addition": (
        "Caballero et al. 2023 4-digit addition (17 rows): test loss against training-set size "
        "(data); a flat start, then a sharp break; 'train' = the paper's fitting points"
    ),
    "revisiting_lang": (
        "Revisiting Neural Scaling Laws (Alabdulmohsin et al. 2022), language half, duplicates "
        "removed (712 rows): NMT, LM and BIG-bench curves vs seen examples, official split"
    ),
    "misfitting_curves": (
        "Li et al. 2025 (Mis)Fitting checkpoints (4,818 rows, 240 runs, 11 sizes 12M-1B): eval "
        "loss (value) at every checkpoint of cosine runs of many lengths and 3-5 peak LRs; step, "
        "tokens, lr and lr_sum (reconstructed schedule), is_final; SOURCES_CURVES.md"
    ),
    "misfitting_targets": (
        "Per (model, peak LR) of misfitting_curves: the longest run, its final loss and what is "
        "available to predict it (benchmark targets)"
    ),
    "openclip_curves": (
        "Cherti et al. 2023 OpenCLIP ImageNet zero-shot error over training (3,359 rows, 29 runs): "
        "samples seen (tokens), epoch, lr, value"
    ),
    "pythia_lambada": (
        "Biderman et al. 2023 Pythia (deduped, 8 sizes): LAMBADA negative log-likelihood (value) "
        "over 27 checkpoints each, tokens, lr"
    ),
    "revisiting_vision": (
        "Revisiting Neural Scaling Laws, vision half (18,883 rows): few-shot error of 6 "
        "architectures x 12 tasks against upstream examples seen; 'train' = official split"
    ),
    "revisiting_nmt": (
        "The 5 NMT architectures of revisiting_lang (53 rows): log-perplexity vs training "
        "sentence pairs; 'train' is the benchmark's official split (last point held out)"
    ),
}

_NMT_NAMES = {
    "6 Enc, 6 Dec": "enc-dec 6+6",
    "28 Enc, 6 Dec": "enc-dec 28+6",
    "6 Enc, 28 Dec": "enc-dec 6+28",
    "Dec-only": "decoder-only",
    "TEnc-LSTM": "transformer-enc + LSTM-dec",
}


def dataset_file(name: str) -> str:
    """The file a bundled dataset is read from."""
    if name.startswith("revisiting_"):
        return "revisiting_lang.csv" if name != "revisiting_vision" else "revisiting_vision.csv.gz"
    return _FILES.get(name, f"{name}.csv")


#: Datasets stored under another file name (compressed learning curves).
_FILES: dict[str, str] = {
    "misfitting_curves": "misfitting_curves.csv.gz",
    "misfitting_targets": "misfitting_targets.csv.gz",
    "openclip_curves": "openclip_curves.csv.gz",
    "pythia_lambada": "pythia_lambada.csv.gz",
    "steplaw_runs": "steplaw_runs.csv.gz",
}


def list_datasets() -> list[str]:
    """Names of the bundled datasets."""
    return list(DATASETS)


def _read(file: str) -> pd.DataFrame:
    if file.endswith(".gz"):
        with resources.files(__name__).joinpath(file).open("rb") as fh:
            return pd.read_csv(fh, compression="gzip")
    with resources.files(__name__).joinpath(file).open("r") as fh:
        return pd.read_csv(fh)


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled dataset as a DataFrame (rows in the source's order).

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {list_datasets()}")
    if name == "revisiting_vision":
        return _read("revisiting_vision.csv.gz")
    if name in _FILES:
        return _read(_FILES[name])
    if name not in ("revisiting_lang", "revisiting_nmt"):
        return _read(dataset_file(name))
    lang = _read("revisiting_lang.csv")
    lang = lang.rename(
        columns={"Domain": "domain", "Task": "task", "Model": "model", "train_split": "train"}
    )
    lang["train"] = lang["train"].astype(bool)
    if name == "revisiting_lang":
        return lang
    nmt = lang[lang["domain"] == "NMT"].reset_index(drop=True)
    return pd.DataFrame(
        {
            "architecture": nmt["model"].map(_NMT_NAMES),
            "label": nmt["model"],
            "seen_examples": nmt["seen_examples"],
            "loss": nmt["loss"],
            "train": nmt["train"],
        }
    )
