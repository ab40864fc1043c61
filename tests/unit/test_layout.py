"""The package's layout by layer: each module imports only its own folder and the layers below
it, so no two folders import each other (docs/architecture.md, "The layers").

Every ``import`` of the package is read with :mod:`ast`, the ones inside functions too: a lazy
import climbs as much as one at the top. The package root (``snnattack/__init__.py``) is the
top unit: it re-exports the Python API, so a module that imports from it
(``from snnattack import __version__``) imports upward.
"""

from __future__ import annotations

import ast
from pathlib import Path

from harness import ROOT

PACKAGE = ROOT / "src" / "snnattack"
ROOT_UNIT = "__init__"  # the unit of the package root, snnattack/__init__.py

# Lowest first: a unit (a folder, or a module on top) may import its own unit and the units
# of the layers before its own, never one after. The units of one layer import none of each
# other's in a circle (test_no_import_circle_between_units).
LAYERS: list[tuple[str, ...]] = [
    # leaves: the package itself (version, conf/), errors, value rules, settings, the process
    ("package", "errors", "values", "registry", "settings", "process"),
    ("records",),  # metrics.json, the checkpoint store, checkpoint files, W&B, cosmetic keys
    ("cpu", "cuda"),  # the device paths: CPU kernels and memory savers, GPU (Triton) kernels
    ("snn",),  # the spiking core: LIF neurons, surrogates, time steps, encodings
    ("gradients",),  # the gradient modes (STBP, BPTR, RGA, HART, ...)
    ("models",),  # the architectures
    ("data",),  # the datamodules
    ("config",),  # validation before any work, and the config's own blocks parsed
    ("inputs",),  # the Python API's gate: a user's data, models and arguments checked once
    ("interop",),  # foreign and user-built networks as SpikingNets (model=external: the gate)
    ("attacks",),  # attack methods, crafting, ensemble, tuning, an attack run's rows
    ("training",),  # training kinds, fitting, a job's models (target and black-box source)
    ("analysis",),  # analyses of a trained model
    ("runtime",),  # the process: command line, console, sweep lifecycle
    ("evaluation",),  # the attack evaluation and what follows it
    ("report",),  # tables and figures from metrics.json
    ("preparation",),  # the API's and the benchmark's one compose, preparation and tail
    ("job", "api"),  # a job's data flow and the Python API
    ("tools",),  # the measurement a user runs: the step bench (the checkout's tools/ has the rest)
    ("benchmark",),  # protocols, entries and the leaderboard, above the preparation it shares
    ("command", "__main__"),  # the command line: run.py, snnattack, python -m snnattack
    (ROOT_UNIT,),  # the package root: it re-exports the Python API
]
LAYER = {unit: i for i, units in enumerate(LAYERS) for unit in units}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit(module: str) -> str:
    """The layer unit of a ``snnattack.<unit>...`` module (:data:`ROOT_UNIT` for the root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT_UNIT


def is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported(path: Path) -> set[str]:
    """The package's modules that the file at ``path`` imports."""
    return imports_in(path.read_text(), module_name(path), path.name == "__init__.py")


def imports_in(source: str, name: str, is_package: bool = False) -> set[str]:
    """The package's modules (the root ``snnattack`` included) that ``source``, the code of
    module ``name``, imports."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:  # ``from snnattack.x import y``: y may be a module
                sub = f"{base}.{alias.name}"
                found.add(sub if is_module(sub) else base)
    return {m for m in found if m == "snnattack" or m.startswith("snnattack.")}


def modules() -> dict[str, set[str]]:
    return {module_name(p): imported(p) for p in sorted(PACKAGE.rglob("*.py"))}


ROOT_MODULES = 10  # at most this many modules at the package root, __init__ and __main__ included


def test_the_package_root_holds_at_most_ten_modules() -> None:
    """A new module goes into the folder of its layer, not beside the package's entrances."""
    found = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(found) <= ROOT_MODULES, found


def test_every_unit_has_a_layer() -> None:
    units = {unit(m) for m in modules()}
    assert units - set(LAYER) == set(), "add the new folder or module to LAYERS"
    assert set(LAYER) - units == set(), "LAYERS names a unit that is gone"


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{m} imports {i}"
        for m, imports in modules().items()
        for i in sorted(imports)
        if LAYER[unit(i)] > LAYER[unit(m)]
    ]
    assert upward == []


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """An import circle through each node of ``edges`` (node -> the nodes it imports) that
    lies on one, as the list of its nodes, first and last the same; none: ``[]``."""
    done: set[str] = set()

    def circle_from(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(edges.get(node, ())):
            if found := circle_from(nxt, [*path, node]):
                return found
        done.add(node)
        return None

    return [c for node in sorted(edges) if (c := circle_from(node, []))]


def test_no_import_circle_between_units() -> None:
    edges: dict[str, set[str]] = {}
    for m, imports in modules().items():
        edges.setdefault(unit(m), set()).update(unit(i) for i in imports if unit(i) != unit(m))
    assert circles(edges) == []


def test_no_import_circle_between_modules() -> None:
    """Within a folder too, no two modules import each other, directly or through others (a
    lazy import to break the circle at run time counts: the reader sees it). Two modules that
    share a model import a third below both (``benchmark/rows.py`` for the leaderboard's Markdown
    and HTML page)."""
    edges = {m: {i for i in imports if i != m} for m, imports in modules().items()}
    assert circles(edges) == []


def test_the_circle_finder_finds_a_circle() -> None:
    """The finder itself: a circle of three modules is found, a chain is none."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})[0] == ["a", "b", "c", "a"]
    assert circles({"a": {"b"}, "b": {"c"}, "d": {"a"}}) == []


def test_the_reader_sees_lazy_imports_and_imported_modules() -> None:
    """The reader itself: an import inside a function, and ``from snnattack.x import y`` of a
    module ``y``, are both seen (a reader that missed them would pass any layout)."""
    # snnattack.__getattr__'s import of snnattack.load's module, in a function only
    assert "snnattack.training.files" in imported(PACKAGE / "__init__.py")
    multistep = imported(PACKAGE / "snn" / "multistep.py")
    assert "snnattack.cpu.native" in multistep  # from snnattack.cpu import native
    assert LAYER[unit("snnattack.cpu.native")] < LAYER[unit("snnattack.snn.multistep")]


def test_an_import_from_the_package_root_is_upward() -> None:
    """``from snnattack import __version__`` (a name the root re-exports) imports the root,
    the top unit: from any other module it is an upward import."""
    found = imports_in("from snnattack import __version__", "snnattack.records.provenance")
    assert found == {"snnattack"}
    assert imports_in("import snnattack", "snnattack.records.provenance") == {"snnattack"}
    assert LAYER[unit("snnattack")] > max(LAYER[unit(m)] for m in modules() if m != "snnattack")
    assert "snnattack.api" in modules()["snnattack"]  # the root's own lazy import of the API


CHECKOUT_TOOLS = ROOT / "tools"  # the developer's measurements and checks, not installed
USER_TOOLS = {"__init__", "command", "step_cost"}  # the package's tools/: the Table S2 bench


def import_roots(source: str) -> set[str]:
    """The first names of the absolute imports of ``source`` (``tools`` for
    ``from tools.gpu_rows import beyond``), the ones inside functions too."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_import_root_reader_sees_lazy_and_from_imports() -> None:
    source = "import torch.nn\nfrom tools.gpu_rows import x\ndef f():\n    import fidelity\n"
    assert import_roots(source) == {"torch", "tools", "fidelity"}
    assert import_roots("from . import command\nfrom .step_cost import bench\n") == set()


def test_the_developers_tools_live_in_the_checkout_and_the_package_imports_none() -> None:
    """The developer's measurements and checks are the checkout's ``tools/`` beside
    ``fidelity/`` (issue 57), run from its root as ``python -m tools.<name>``: the package
    keeps only the step bench a user runs and what it needs, and no module of the package
    imports the checkout's ``tools`` or ``fidelity`` (an installed package has neither)."""
    kept = {p.stem for p in (PACKAGE / "tools").glob("*.py")}
    assert kept == USER_TOOLS
    moved = {p.stem for p in CHECKOUT_TOOLS.glob("*.py")} - {"__init__"}
    assert {"peer_compare", "gpu_check", "timings", "thread_cost", "stored"} <= moved
    assert not moved & kept
    outward = {
        module_name(path): sorted(roots)
        for path in sorted(PACKAGE.rglob("*.py"))
        if (roots := import_roots(path.read_text()) & {"tools", "fidelity"})
    }
    assert len(modules()) > 100 and outward == {}


def test_each_of_the_checkouts_tools_is_said_with_its_command() -> None:
    """The checkout's ``tools`` is the folder beside ``fidelity/`` (found from the repository
    root, as setup.cfg's pytest ``pythonpath`` puts it); each command in it (a module with a
    ``main``) is named in its docstring as ``python -m tools.<name>``. They may import the
    package (the measurements share :mod:`snnattack.tools.command`), never the reverse."""
    import tools

    assert tools.__file__ == str(CHECKOUT_TOOLS / "__init__.py")
    sources = {p.stem: p.read_text() for p in CHECKOUT_TOOLS.glob("*.py") if p.stem != "__init__"}
    shared = {n for n, text in sources.items() if "from snnattack.tools.command import" in text}
    assert shared == {"thread_cost", "ensemble_cost", "retime_cost"}
    commands = {name for name, text in sources.items() if "def main(" in text}
    assert commands == {
        "thread_cost", "ensemble_cost", "retime_cost", "peer_compare", "timings", "gpu_check"
    }  # fmt: skip
    for name in commands:
        assert f"python -m tools.{name}" in tools.__doc__, name


def test_a_jobs_data_flow_reads_in_fifty_lines() -> None:
    """``job.run`` is the data flow from config to record (docs/architecture.md): each step is
    a call to the layer that does it, so the function stays short enough to read at once."""
    tree = ast.parse((PACKAGE / "job.py").read_text())
    (run,) = [
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "run"
    ]
    assert run.end_lineno - run.lineno + 1 <= 50


def test_the_evaluation_reads_no_validation() -> None:
    """Validation computes the notes once and the settings carry them to the record
    (docs/architecture.md, "The data flow of a job"), so ``evaluation/`` needs nothing of
    ``config/``, though the layers would allow it."""
    found = {
        m: sorted(i for i in imports if unit(i) == "config")
        for m, imports in modules().items()
        if unit(m) == "evaluation"
    }
    assert found and not any(found.values()), found


# the kinds whose rules are declared beside their code: config/ runs them, importing none
KINDS = ("attacks", "training", "interop", "analysis")


def test_config_lies_below_every_kind() -> None:
    """Each kind declares the rules of its own keys beside its code (``values.declare``,
    ``values.CHECKS``, ``values.NOTES``) and parses its own part of the config
    (``attacks/parse.py``, ``training/parse.py``), so validation needs no kind: ``config/``
    lies below them all, and :func:`test_no_module_imports_a_layer_above_its_own` refuses any
    import from ``config/`` into attacks, training, interop or analysis (issue 51)."""
    assert all(LAYER["config"] < LAYER[kind] for kind in KINDS)
    found = {
        (m, i)
        for m, imports in modules().items()
        if unit(m) == "config"
        for i in imports
        if unit(i) in KINDS
    }
    assert found == set()


def test_an_import_from_config_into_a_kind_is_upward() -> None:
    """The check itself: ``from snnattack.training.trained import Built`` in ``config/``
    imports a layer above its own."""
    found = imports_in("from snnattack.training.trained import Built", "snnattack.config.x")
    assert [LAYER[unit(i)] > LAYER["config"] for i in found] == [True]


# the optional libraries, imported where a network of theirs is adapted or a run is logged
OPTIONAL = ("spikingjelly", "snntorch", "wandb", "triton")  # triton: not in a CPU-only torch
# the imports of the package inside a function, each with why: a command that answers without
# torch (a mistake on the command line, the report of metrics.json files) imports it late
LAZY = {
    ("__init__.py", "snnattack"): "the package root: `import snnattack` stays light",
    ("__init__.py", "snnattack.training"): "the package root: `import snnattack` stays light",
    ("benchmark/__init__.py", "snnattack.benchmark"): "the leaderboard command without torch",
    ("benchmark/callback.py", "snnattack.job"): "the rules its config check needs, which "
    "the job loads next: the callback's module stays light for Hydra's start",
    ("command.py", "snnattack.job"): "--help and a command-line mistake answered before torch",
    ("command.py", "snnattack.gradients"): "--help and a command-line mistake answered before "
    "torch",
    ("command.py", "snnattack.records.tracking"): "--help and a mistake answered before torch",
    ("command.py", "snnattack.runtime.console"): "--help and a mistake answered before torch",
    ("command.py", "snnattack.process"): "out_of_memory imports torch: --help and a mistake "
    "answered before torch",
    ("runtime/cli.py", "snnattack.training"): "a command-line mistake answered before torch",
    ("runtime/cli.py", "snnattack.attacks.methods.base"): "a command-line mistake answered "
    "before torch",
    ("report/tables.py", "snnattack.gradients"): "the report reads metrics.json without torch",
    ("report/figures.py", "snnattack.training"): "the report reads metrics.json without torch",
    ("report/adversarial.py", "snnattack.training"): "the report reads metrics.json without torch",
    ("report/hydra_callback.py", "snnattack.records.tracking"): "the report command starts "
    "without Lightning",
    ("report/hydra_callback.py", "snnattack.process.distributed"): "the report command starts "
    "without Lightning",
    ("report/events.py", "snnattack.evaluation.examples"): "the report without torch",
    ("runtime/lifecycle.py", "snnattack.process.distributed"): "a sweep's callbacks start "
    "without Lightning; the job's lock asks for its rank once the job runs",
    ("snn/multistep.py", "snnattack.cuda"): "the Triton ops import Triton, which may be absent",
    ("gradients/rga.py", "snnattack.cuda"): "the Triton ops import Triton, which may be absent",
    ("runtime/launchers.py", "submitit.local"): "patched while a local_submitit sweep "
    "launches: every other command starts without it",
}


def lazy_imports(source: str) -> set[str]:
    """The modules that ``source`` imports inside a function (``from x import y``: ``x``)."""
    found = set()
    for function in ast.walk(ast.parse(source)):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    found.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    found.add(node.module or "")
    return found


def test_imports_are_at_the_top_but_the_optional_libraries_and_the_listed() -> None:
    """A module's dependencies are read at its top (issue 51): inside a function only an
    optional library, or a module :data:`LAZY` lists with its reason."""
    found = {
        (path.relative_to(PACKAGE).as_posix(), module)
        for path in sorted(PACKAGE.rglob("*.py"))
        for module in lazy_imports(path.read_text())
        if module.split(".")[0] not in OPTIONAL
    }
    assert found == set(LAZY)


def test_the_lazy_import_reader_sees_an_import_in_a_method() -> None:
    source = "class A:\n    def f(self):\n        from snnattack.attacks import methods\n"
    assert lazy_imports(source) == {"snnattack.attacks"}


def checked_protocols_with_data(source: str) -> set[str]:
    """The ``runtime_checkable`` Protocols of ``source`` that declare data members: on Python
    3.12+ ``isinstance`` looks such members up with ``inspect.getattr_static``, which misses an
    ``nn.Module``'s submodules and parameters (they live in ``_modules`` and ``_parameters``),
    so a module that has them does not match (issue 56)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        names = {ast.unparse(d).rpartition(".")[2] for d in node.decorator_list}
        if "runtime_checkable" in names and any(isinstance(s, ast.AnnAssign) for s in node.body):
            found.add(node.name)
    return found


def test_no_runtime_checkable_protocol_declares_data_members() -> None:
    """A module's structure is tested by what it holds (``getattr``, its children), never by a
    ``runtime_checkable`` Protocol with data members, which Python 3.12+ matches differently."""
    found = {
        (path.relative_to(PACKAGE).as_posix(), name)
        for path in sorted(PACKAGE.rglob("*.py"))
        for name in checked_protocols_with_data(path.read_text())
    }
    assert not found


def test_the_protocol_reader_sees_a_checkable_protocol_with_data() -> None:
    source = (
        "import typing\n@typing.runtime_checkable\nclass B(Protocol):\n    spike: nn.Module\n"
        "@runtime_checkable\nclass C(Protocol):\n    def f(self) -> None: ...\n"
    )
    assert checked_protocols_with_data(source) == {"B"}


def hydra_compose_calls(source: str) -> set[str]:
    """The functions of ``source`` (``<module>`` at its top) that call Hydra's ``compose`` or
    set up its config search (``initialize``, ``initialize_config_dir``,
    ``initialize_config_module``), by name or as an attribute (``hydra.compose``)."""
    names = {"compose", "initialize", "initialize_config_dir", "initialize_config_module"}
    found = set()

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = where
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name
            if isinstance(child, ast.Call):
                func = child.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if called in names:
                    found.add(where)
            visit(child, inner)

    visit(ast.parse(source), "<module>")
    return found


def test_hydra_is_composed_in_one_function_of_the_package() -> None:
    """Every entrance that composes a job config in the process (the Python API and the
    benchmark, through ``preparation/config.py``'s ``job_config``, and outside the package the
    checkout's ``tools/stored.py``) calls ``config/compose.py``'s ``compose_config``; no other
    function of the package calls Hydra's compose (issue 57)."""
    found = {
        (path.relative_to(PACKAGE).as_posix(), function)
        for path in sorted(PACKAGE.rglob("*.py"))
        for function in hydra_compose_calls(path.read_text())
    }
    assert found == {("config/compose.py", "compose_config")}


def test_the_compose_finder_sees_a_call_by_name_and_as_an_attribute() -> None:
    source = "import hydra\ndef f():\n    hydra.compose('config')\ndef g():\n    compose()\n"
    assert hydra_compose_calls(source) == {"f", "g"}


def test_the_benchmark_prepares_through_the_preparation_seam_not_the_api() -> None:
    """``snnattack.benchmark.evaluate`` prepares its evaluation itself and hands it on to the
    tail it shares with the Python API (issue 57): the benchmark imports the preparation seam
    below the API (``preparation/``), never the API, whose entrance would prepare again."""
    found = modules()
    benchmark = [m for m in found if unit(m) == "benchmark"]
    assert [m for m in benchmark if "snnattack.api" in found[m]] == []
    assert "snnattack.preparation.evaluation" in found["snnattack.benchmark.evaluation"]
