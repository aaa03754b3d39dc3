"""The bundled phase library and user entries: contents, sources, and clear errors."""

import pytest

from sigma._errors import SigmaFileError, SigmaValueError
from sigma.identify import default_library, parse_formula, read_library
from sigma.identify.library import composition_from, formula_weight_fractions, pretty_formula

CLASSES = {"silicate", "oxide", "sulfide", "carbonate", "phosphate", "sulfate", "halide",
           "alloy", "metal", "ceramic"}


def test_bundled_library_size_classes_and_sources():
    lib = default_library()
    assert len(lib) >= 150
    assert CLASSES <= set(lib.classes)
    for p in lib:
        assert p.source, p.name
        assert sum(p.composition.values()) == pytest.approx(1.0)
        assert all(v > 0 for v in p.composition.values())


def test_formula_parser_handles_brackets_hydrates_and_decimals():
    assert parse_formula("Ca5(PO4)3F") == {"Ca": 5, "P": 3, "O": 12, "F": 1}
    assert parse_formula("CaSO4·2H2O") == {"Ca": 1, "S": 1, "O": 6, "H": 4}
    assert parse_formula("Zr0.852Y0.148O1.926")["Y"] == pytest.approx(0.148)
    wt = formula_weight_fractions("SiO2")
    assert wt["Si"] == pytest.approx(0.4674, abs=1e-3)
    assert pretty_formula("Fe3O4") == "Fe₃O₄"


def test_polymorphs_are_grouped():
    lib = default_library()
    assert {p.name for p in lib.same_composition(lib["kyanite"])} == {"kyanite", "andalusite", "sillimanite"}
    assert {p.name for p in lib.same_composition(lib["pyrite"])} == {"pyrite", "marcasite"}


def test_user_entries_and_restriction():
    lib = default_library()
    lib.add("my slag", {"Ca": 35, "Si": 20, "O": 45}, phase_class="slag")
    assert lib["my slag"].composition["Ca"] == pytest.approx(0.35)
    sulf = lib.restrict(classes=["sulfide"])
    assert "galena" in sulf and "quartz" not in sulf and "my slag" not in sulf
    with pytest.raises(SigmaValueError, match="'sulfides'"):
        lib.restrict(classes=["sulfides"])


def test_bad_entries_name_the_entry_and_what_was_expected():
    with pytest.raises(SigmaValueError, match="phase bad.*'Xx' is not an element"):
        composition_from({"Xx": 100}, "bad")
    with pytest.raises(SigmaValueError, match=r"phase short.*summing to 100 ± 2.*total 90"):
        composition_from({"Cu": 60, "Zn": 30}, "short")
    with pytest.raises(SigmaValueError, match="already"):
        lib = default_library()
        lib.add("quartz", "SiO2")


def test_library_file_errors_name_the_file_row_and_entry(tmp_path):
    good = tmp_path / "lib.csv"
    good.write_text("# my phases\nname,formula,wt_percent,class\nslag A,,Ca:40;Si:20;O:40,slag\n"
                    "spinel B,MgAl2O4,,oxide\n", encoding="utf-8")
    lib = read_library(good)
    assert lib.names == ["slag A", "spinel B"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,formula,wt_percent\nok,SiO2,\nweird,Qz2O,\n", encoding="utf-8")
    with pytest.raises(SigmaFileError, match=r"bad.csv.*row 3 \('weird'\).*'Qz' is not an element"):
        read_library(bad)
    short = tmp_path / "short.csv"
    short.write_text("name,formula,wt_percent\nalloy,,Cu:50;Zn:30\n", encoding="utf-8")
    with pytest.raises(SigmaFileError, match=r"short.csv.*row 2 \('alloy'\).*total 80"):
        read_library(short)


def test_materials_phases_and_labels_of_phases_named_by_their_formula():
    from sigma.identify import default_library

    lib = default_library()
    assert lib["Mg2Si"].label == "Mg₂Si" and lib["ilmenite"].label == "ilmenite FeTiO₃"
    for name in ("FePt", "CoPt", "Pt3Co", "FeCo", "cobalt ferrite", "trevorite", "awaruite"):
        assert name in lib, name
    assert abs(sum(lib["FePt"].composition.values()) - 1) < 1e-9
    assert "FePt" in lib.restrict(classes=["intermetallic"]).names
