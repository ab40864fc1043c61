"""A folder that is not the reference's clone is refused in one line by every comparison of
fidelity/, before any model is trained."""

from collections.abc import Callable
from pathlib import Path

import pytest

from fidelity import patch, retime, sda, spikefool_universal

SDA_CLONE = (sda.main, "ryime/PDSG-SDA")
RETIME_CLONE = (retime.main, "yuyi-sd/Spike-Retiming-Attacks")
PATCH_CLONE = (patch.main, "yszbb/AE-Patch")
PATCH_FILE = patch.PATH  # the file the AE-Patch comparison imports
SPIKEFOOL_CLONE = (spikefool_universal.main, "jubueche/SPAA")


@pytest.mark.parametrize(
    ("clone", "attack_py", "message"),
    [
        (SDA_CLONE, None, "holds no utils/attack.py"),
        (
            SDA_CLONE,
            "import not_a_module_here\n",
            "importing utils/attack.py raised ModuleNotFoundError",
        ),
        (SDA_CLONE, "class PGD: ...\n", "utils/attack.py has no class SDA"),
        (RETIME_CLONE, None, "holds no utils/attack.py"),
        (
            RETIME_CLONE,
            "import not_a_module_here\n",
            "importing utils/attack.py raised ModuleNotFoundError",
        ),
        (
            RETIME_CLONE,
            "class PGDTimeShiftAfterEncoder: ...\n",
            "has no class PGDTimeShiftAfterEncoder_L0, PGDTimeShiftAfterEncoder_L1, "
            "PGDTimeShiftAfterEncoder_Lowgpu",
        ),
        (PATCH_CLONE, None, f"holds no {PATCH_FILE}"),
        (PATCH_CLONE, "import not_a_module_here\n", f"importing {PATCH_FILE} raised"),
        (PATCH_CLONE, "def mask_generation(): ...\n", f"{PATCH_FILE} has no class patch_attack"),
        (SPIKEFOOL_CLONE, None, "holds no sparsefool.py"),
        (SPIKEFOOL_CLONE, "def sparsefool(): ...\n", "has no class universal_attack, Heatmap"),
    ],
)
def test_a_reference_folder_that_is_not_a_clone_is_refused_in_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    clone: tuple[Callable[[list[str]], None], str],
    attack_py: str | None,
    message: str,
) -> None:
    main, repository = clone
    if attack_py is not None:
        files = {PATCH_CLONE: PATCH_FILE, SPIKEFOOL_CLONE: "sparsefool.py"}
        file = tmp_path / files.get(clone, "utils/attack.py")
        file.parent.mkdir(exist_ok=True)
        file.write_text(attack_py)
    with pytest.raises(SystemExit) as exit_:
        argv = ["--reference", str(tmp_path)]
        main([*argv, *(["--store", str(tmp_path / "models")] if clone is SDA_CLONE else [])])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and repository in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "models").exists()
