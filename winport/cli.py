"""The `winport` command line.

Exit codes: 0 ok; 1 changes pending (``rewrite --check``) or findings (``check``,
``test``); 2 usage or input error; 3 a transform drifted or failed (``--strict``);
4 winport or a plug-in crashed outside a transform's step; 130 interrupted.
"""

from __future__ import annotations

import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

import click

from . import cache, registry, render
from .examples import first_example
from .model import Outcome
from .pipeline import Pipeline
from .sources import SourceError

EXIT_OK, EXIT_PENDING, EXIT_INPUT, EXIT_PROBLEMS, EXIT_CRASH, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 3, 4, 130, 143


class Interrupted(BaseException):
    """SIGINT or SIGTERM, raised wherever the run is, so that temp files and the
    tree's lock are removed on the way out (click turns KeyboardInterrupt into
    "Aborted!" and exit 1; this does not derive from it)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def _on_signal(signum, frame):
    raise Interrupted(EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_TERMINATED)


def run() -> None:
    """The console entry point: `main` with interrupts turned into exit 130/143."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        main()
    except Interrupted as exc:
        click.echo("winport: interrupted; every file is either untouched or fully rewritten", err=True)
        sys.exit(exc.code)

EXIT_HELP = """\b
Exit codes:
  0  success (with --check: the tree is already ported)
  1  --check: changes are pending
  2  usage or input error (bad folder, unknown transform, fetch failure)
  3  --strict: a transform drifted or failed
  4  winport or a plug-in crashed (a bug: the message names where)
  130 interrupted (SIGINT); 143 terminated (SIGTERM)"""


class InputError(click.ClickException):
    exit_code = EXIT_INPUT

    def show(self, file=None) -> None:  # one line, prefixed with the program name
        click.echo(f"winport: error: {self.format_message()}", err=True)


def _settings(**command_line):
    """The settings in effect: the command line over winport.toml / pyproject.toml's [tool.winport]."""
    from .config import ConfigError, resolve
    from .layout import LayoutError, parse

    try:
        command_line["layout"] = parse(command_line.get("layout") or ())
        return resolve(command_line)
    except (ConfigError, LayoutError) as exc:
        raise InputError(str(exc)) from None


def _layout(settings):
    """The layout the settings give (None: vLLM's, nothing given)."""
    from .layout import Layout

    return Layout.of(settings["layout"]) if settings["layout"] else None


LAYOUT_HELP = ("Where the tree keeps a role the transforms read, as ROLE=PATH (repeatable): python (vllm), "
               "kernels (csrc), build (.), setup (setup.py), requirements (requirements). For another engine's "
               "tree, e.g. --layout python=sglang.")


def check_tree(path: Path, accept: str = "vllm") -> None:
    """Stop unless ``path`` is a tree the command takes: ``"vllm"``, a vLLM tree;
    ``"known"``, also a known dependency's (CUTLASS, flash-attention, ...);
    ``"any"``, any folder (a dependency by the caller's word, ``--dependency``)."""
    if not path.is_dir():
        raise InputError(f"{path}: no such folder")
    if accept == "any":
        return
    from . import trees

    missing = [m for m in trees.VLLM.markers if not (path / m).exists()]
    if not missing or (accept == "known" and trees.identify(str(path)) is not trees.VLLM):
        return
    known = ", ".join(k.label for k in trees.DEPENDENCY_KINDS)
    raise InputError(f"{path}: not a vLLM source tree (missing {', '.join(missing)})"
                     + (f" nor a known dependency ({known}); for another C++/CUDA dependency add --dependency; "
                        "for another engine's tree give its layout (--layout python=PACKAGE, ...)"
                        if accept == "known" else ""))


def _select(settings) -> list:
    """The transforms the settings choose (file and command line, as ruff resolves them)."""
    try:
        return registry.resolve(settings.selection())
    except registry.RegistryError as exc:
        raise InputError(str(exc)) from None


def _cache_entry(directory: Path, command: str, options: dict, no_cache: bool):
    """Where a run of ``command`` on the tree as it is now keeps its report (``winport.cache``)."""
    if no_cache or not cache.enabled():
        return None
    return cache.RunCache(str(directory), command, options)


def _from_cache(entry, directory: Path, write: bool):
    """The report of an earlier run on the unchanged tree, or None."""
    if entry is None:
        return None
    report = entry.load(str(directory), write)
    if report is not None:
        report.seconds = time.perf_counter() - entry.started
    return report


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, registry.PluginWarning):
        click.echo(f"winport: warning: {message}", err=True)
    else:  # pragma: no cover - another library's warning, shown as Python would
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


class _Main(click.Group):
    """The command group: a skipped plug-in is one warning line, and an exception no
    command expected (a bug in winport or in a plug-in's ``plan``, ``new_files``, ...)
    exits 4 with one line naming it and where it was raised, never 1 (``--check``'s
    "changes pending")."""

    def invoke(self, ctx: click.Context):
        with warnings.catch_warnings():
            warnings.simplefilter("once", registry.PluginWarning)
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
                raise
            except Exception as exc:
                where = traceback.extract_tb(exc.__traceback__)[-1]
                click.echo(f"winport: internal error: {type(exc).__name__}: {exc} (raised at {where.filename}:"
                           f"{where.lineno} in {where.name})", err=True)
                raise click.exceptions.Exit(EXIT_CRASH) from None


@click.group(cls=_Main, epilog=EXIT_HELP)
@click.version_option(package_name="winport")
def main() -> None:
    """Port a vLLM source tree to native Windows (MSVC + CUDA) by semantic rewriting."""


@main.command(epilog=EXIT_HELP)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--fetch", "version", metavar="VERSION",
              help='First download vLLM VERSION ("latest": the newest) into DIRECTORY.')
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff (for git apply); write nothing.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any change is pending.")
@click.option("--select", multiple=True, metavar="IDS", help="Only these ids, areas (cuda/) or seed ids (K5).")
@click.option("--ignore", multiple=True, metavar="IDS", help="Leave out these ids, areas or seed ids.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the full report as JSON to this file.")
@click.option("--strict/--no-strict", default=None, help="Exit 3 if a transform drifted or failed.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes (default: CPUs).")
@click.option("--no-cache", is_flag=True, help="Neither use nor keep the report of an earlier run on this tree.")
@click.option("--dependency", is_flag=True,
              help="DIRECTORY is a source vLLM's build fetches, even if winport does not know it: run the portable "
                   "C++/CUDA transforms only.")
@click.option("--layout", "layout", multiple=True, metavar="ROLE=PATH", help=LAYOUT_HELP)
@click.option("--show-settings", is_flag=True,
              help="Print the settings in effect (winport.toml, pyproject.toml [tool.winport], command line) and "
                   "where each comes from; do nothing else.")
def rewrite(directory: Path, version: str | None, show_diff: bool, check: bool, select, ignore,
            json_path: Path | None, strict: bool | None, jobs: int | None, no_cache: bool,
            dependency: bool, layout: tuple[str, ...], show_settings: bool) -> None:
    """Port the vLLM tree in DIRECTORY in place and print what each transform did.

    DIRECTORY may also hold a source a vLLM build fetches (CUTLASS, flash-attention,
    FlashMLA, QuTLASS, DeepGEMM, any C++/CUDA project): the C++/CUDA transforms that
    hold for any code run on it, the others are not applicable."""
    settings = _settings(select=select, ignore=ignore, jobs=jobs, strict=strict, layout=layout)
    if show_settings:
        click.echo(settings.show())
        return
    jobs, strict = settings["jobs"], settings["strict"]
    transforms = _select(settings) if version else None  # a bad selection stops before the download
    if version:
        version = _fetch(version, directory, quiet=False)
        click.echo(f"winport: fetched vLLM {version} into {directory}", err=True)
    moved = _layout(settings)
    check_tree(directory, accept="any" if dependency or moved else "known")

    write = not (show_diff or check)
    entry = _cache_entry(directory, "rewrite", {"selection": settings.selection(), "dependency": dependency,
                                                "layout": settings["layout"]}, no_cache)
    report = _from_cache(entry, directory, write)
    if report is None:
        transforms = transforms or _select(settings)
        try:
            report = Pipeline(transforms, jobs=jobs, dependency=dependency, layout=moved).run(
                str(directory), write=write, paths=entry.paths if entry else None)
        except SourceError as exc:
            raise InputError(str(exc)) from None
        except KeyboardInterrupt:  # library use without run()'s handlers
            raise Interrupted(EXIT_INTERRUPTED) from None
        if entry is not None:
            entry.store(report)

    out_err = show_diff  # the diff owns stdout
    verb = "changed" if write else "would change"
    click.echo(render.table(report, verb), err=out_err)
    applied = {t.id for t in report.transforms if t.outcome is Outcome.APPLIED}
    # (a run answered from the cache on a ported tree applies nothing: no transform is imported)
    if write and report.tree == "vllm" and applied and applied & {cls.id for cls in registry.builtin()}:
        click.echo(render.limits(report), err=out_err)
        if report.changed:
            click.echo(render.next_steps(directory), err=out_err)
    if show_diff:
        click.echo(render.diff(report), nl=False)
    if json_path:
        json_path.write_text(render.to_json(report) + "\n", encoding="utf-8")

    if report.has_problems:
        problems = [t.id for t in report.transforms if t.outcome in (Outcome.DRIFTED, Outcome.FAILED)]
        click.echo(f"winport: warning: {len(problems)} transform(s) drifted or failed: {', '.join(problems)}",
                   err=True)
    if strict and report.has_problems:
        sys.exit(EXIT_PROBLEMS)
    if check and report.changed:
        sys.exit(EXIT_PENDING)


@main.command(epilog="""\b
Exit codes:
  0  nothing left to port
  1  findings
  2  usage or input error""")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
@click.option("--select", multiple=True, metavar="IDS", help="Only these ids, areas (cuda/) or seed ids (K5).")
@click.option("--ignore", multiple=True, metavar="IDS", help="Leave out these ids, areas or seed ids.")
@click.option("--all-backends", is_flag=True,
              help="Also scan the CPU and ROCm sources (csrc/cpu, csrc/rocm) with the detectors.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes (default: CPUs).")
@click.option("--no-cache", is_flag=True, help="Neither use nor keep the report of an earlier run on this tree.")
@click.option("--dependency", is_flag=True, help="DIRECTORY is a source vLLM's build fetches (see rewrite).")
@click.option("--layout", "layout", multiple=True, metavar="ROLE=PATH", help=LAYOUT_HELP)
def check(directory: Path, fmt: str, select, ignore, all_backends: bool, jobs: int | None, no_cache: bool,
          dependency: bool, layout: tuple[str, ...]) -> None:
    """List what remains to port in DIRECTORY (ported or not): every site a
    transform would rewrite and every site left to a person. Writes nothing."""
    from . import findings as F

    settings = _settings(select=select, ignore=ignore, jobs=jobs, layout=layout)
    jobs, moved = settings["jobs"], _layout(settings)

    check_tree(directory, accept="any" if dependency or moved else "known")
    options = {"selection": settings.selection(), "all_backends": all_backends, "dependency": dependency,
               "layout": settings["layout"]}
    entry = _cache_entry(directory, "check", options, no_cache)
    report = _from_cache(entry, directory, False)
    if report is None or fmt == "sarif":  # SARIF describes each transform
        transforms = _select(settings)
        if all_backends:  # detectors only: the fixing transforms target the CUDA build
            transforms = [registry.widened(t) if not t.fixes else t for t in transforms]
    if report is None:
        transforms = transforms or _select(settings)
        try:
            report = Pipeline(transforms, jobs=jobs, dependency=dependency, layout=moved).run(
                str(directory), write=False, paths=entry.paths if entry else None)
        except SourceError as exc:
            raise InputError(str(exc)) from None
        if entry is not None:
            entry.store(report)
    from .scope import classifier

    found = F.from_report(report, classifier(str(directory)))
    if fmt == "json":
        click.echo(F.to_json(found))
    elif fmt == "sarif":
        click.echo(F.sarif(found, transforms))
    else:
        click.echo(F.text(found))
    sys.exit(1 if found else 0)


def _fetch(version: str, dest: Path | None, quiet: bool) -> str:
    """Fetch ``version`` ("latest": the newest release) into ``dest`` (default
    ./vllm-VERSION), with a progress bar on a terminal; the version fetched."""
    from .fetch import FetchError, fetch as do_fetch, latest_version

    try:
        if version == "latest":
            version = latest_version()
        do_fetch(version, dest or Path(f"vllm-{version}"), progress=not quiet and sys.stderr.isatty())
    except FetchError as exc:
        raise InputError(str(exc)) from None
    return version


@main.command()
@click.argument("version")
@click.argument("dest", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--dependency", metavar="NAME",
              help="Fetch a source vLLM's build fetches instead: cutlass (the nvidia-cutlass wheel's headers) or "
                   "flash-attn (its sdist), at VERSION.")
@click.option("--project", metavar="NAME",
              help="Fetch another project's sdist instead (a serving engine to port with --layout), at VERSION.")
def fetch(version: str, dest: Path | None, quiet: bool, dependency: str | None, project: str | None) -> None:
    """Download vLLM VERSION's source release (or the newest, with "latest") from
    the package index pip uses (sha256-verified, cached) and unpack it into DEST
    (default: ./vllm-VERSION)."""
    if project or dependency:
        from . import fetch as F

        name = project or dependency
        get = F.fetch_project if project else F.fetch_dependency
        dest = dest or Path(f"{name}-{version}")
        try:
            get(name, version, dest, progress=not quiet and sys.stderr.isatty())
        except F.FetchError as exc:
            raise InputError(str(exc)) from None
        click.echo(f"winport: fetched {name} {version} into {dest}")
        return
    version = _fetch(version, dest, quiet)
    click.echo(f"winport: fetched vLLM {version} into {dest or Path(f'vllm-{version}')}")


@main.command(epilog="""\b
Exit codes:
  0  no check failed (warnings allowed)
  1  a check failed
  2  usage or input error""")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor(directory: Path | None, as_json: bool) -> None:
    """Check this machine for building the ported tree in DIRECTORY on Windows:
    MSVC and nvcc, CUDA_HOME and other toolkits, PyTorch's CUDA, Python, the tree
    ported and VLLM_TARGET_DEVICE, MAX_JOBS against memory, long paths, disk."""
    from . import doctor as D

    if directory is not None:
        check_tree(directory)
    machine = D.LocalMachine()
    checks = D.doctor(machine, directory)
    click.echo(D.to_json(checks) if as_json else D.render(checks, machine.platform == "win32"))
    sys.exit(1 if any(c.status == "fail" for c in checks) else 0)


@main.command(name="list")
def list_() -> None:
    """List the transforms: id, catalogue id, summary."""
    try:
        transforms = registry.all_transforms()
    except registry.RegistryError as exc:
        raise InputError(str(exc)) from None
    width = max(len(t.id) for t in transforms)
    for t in transforms:
        click.echo(f"{t.id.ljust(width)}  {(t.seed or '-').ljust(3)}  {t.summary}")


@main.command(name="test", epilog="""\b
Exit codes:
  0  every case passes
  1  a case fails (each failure shows its folder and a diff per differing file)
  2  usage or input error (no such path, no case, a malformed case, a case naming
     a transform nobody installed)""")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print failures and the summary only.")
def test_(paths: tuple[Path, ...], quiet: bool) -> None:
    """Run the fixture cases under PATHS against the installed transforms (winport's
    and plug-ins'): each case's before/ tree must become its after/ tree, report the
    sites of reported.txt and end in the outcome of outcome.txt; a second run must
    change nothing and no file may parse worse. Layout: <area>/<name>/<case>/before,
    after, reported.txt, outcome.txt (PATH: a fixtures folder, a transform's or a case)."""
    from . import testing

    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
    found = testing.find_cases(*paths)
    if not found:
        raise InputError(f"no fixture case (a folder with before/) under {', '.join(map(str, paths))}")
    try:
        chosen = [(case, testing.validate(case)) for case in found]
    except testing.CaseError as exc:
        raise InputError(str(exc)) from None
    failed = 0
    for case, transform in chosen:
        problems = testing.check_case(case, transform)
        name = f"{case.transform}/{case.name}"
        if problems:
            failed += 1
            click.echo(f"FAIL  {name} ({case.folder})")
            click.echo("".join(f"  {line}\n" for p in problems for line in p.rstrip("\n").split("\n")), nl=False)
        elif not quiet:
            click.echo(f"ok    {name}")
    click.echo(f"winport test: {len(chosen)} case(s), {len(chosen) - failed} passed, {failed} failed")
    sys.exit(EXIT_PENDING if failed else EXIT_OK)


@main.command()
@click.argument("transform_id")
def explain(transform_id: str) -> None:
    """Explain a transform: why, what it rewrites, and an example from its fixtures."""
    try:
        t = registry.get(transform_id)
    except registry.RegistryError as exc:
        raise InputError(str(exc)) from None
    click.echo(explanation(t))


def explanation(t) -> str:
    lines = [f"{t.id} ({t.seed or 'no catalogue id'}): {t.summary}", "", t.doc()]
    case = first_example(t)
    if case:
        before, after = case.files("before"), case.files("after")
        for path in sorted(before):
            if before[path] != after.get(path):
                lines += ["", f"Example ({case.name}, {path}):", "", "--- before",
                          before[path].decode("utf-8", "replace").rstrip(), "+++ after",
                          after[path].decode("utf-8", "replace").rstrip()]
                break
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    run()
