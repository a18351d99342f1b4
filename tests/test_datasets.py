import pytest

from bayes_scaling import list_datasets, load_dataset


def test_chinchilla():
    d = load_dataset("chinchilla")
    assert len(d) == 245 and int(d["epoch_excluded_top5_loss"].sum()) == 5
    assert (d[["N", "D", "C", "loss"]] > 0).all().all()
    ratio = d["C"] / (6 * d["N"] * d["D"])
    assert ratio.between(0.999, 1.001).all()


def test_revisiting_nmt_official_split():
    d = load_dataset("revisiting_nmt")
    assert len(d) == 53 and d["architecture"].nunique() == 5
    assert "transformer-enc + LSTM-dec" in set(d["architecture"])
    held = d[~d["train"]]
    assert len(held) == 5 and (held["seen_examples"] == 5.12e8).all()


def test_revisiting_lang_has_all_domains():
    d = load_dataset("revisiting_lang")
    assert len(d) == 712 and set(d["domain"]) == {"NMT", "LM", "BB"}


def test_gadre():
    d = load_dataset("gadre_overtraining")
    assert len(d) == 104 and set(d["dataset"]) == {"c4_original", "rpj", "rw_original"}
    assert (d["N"] > 6e9).sum() == 3


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        load_dataset("imagenet")
    assert "chinchilla" in list_datasets()


def test_datablations_and_porian():
    d = load_dataset("datablations")
    assert len(d) == 229 and (d["epochs"] >= 1).all()
    p = load_dataset("porian_isoflop")
    assert len(p) == 176 and set(p["dataset"]) == {"rw", "owt2"}
    assert ((p["C"] / (6 * p["N"] * p["D"])).between(0.99, 1.01)).all()


def test_llama3_bnsl_and_vision():
    d = load_dataset("llama3_isoflop")
    assert len(d) == 133 and d["C"].nunique() == 10
    assert ((d["C"] / (6 * d["N"] * d["D"])).between(0.999, 1.001)).all()
    b = load_dataset("bnsl_addition")
    assert len(b) == 17 and int(b["train"].sum()) == 14
    v = load_dataset("revisiting_vision")
    assert len(v) == 18883 and v.groupby(["task", "model"]).ngroups == 72
