"""What every executor of a batch shares: the plan (inputs paired with outputs), one file's
run and its `Outcome`, and how many processes a machine can take. `redact.jobs.batch` runs
the tasks in local processes, `redact.jobs.cluster` on Dask workers; the CLI picks one."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.incident import IncidentError
from ..detectors.models import ModelMissingError
from ..media.images import ImageError
from ..media.paths import check_output_suffix, is_image, is_video, output_name
from ..media.safeio import OutputBusyError, UsageError, is_internal, not_a_file, os_reason, output_refused, real_path
from ..media.video.reader import VideoError
from ..record.manifest import MANIFEST_SUFFIX, Manifest, manifest_path
from .files import RedactionIncomplete, redact_file
from .memory import available_bytes
from .options import JobOptions


@dataclass(frozen=True)
class Task:
    src: Path
    dst: Path


@dataclass
class BatchPlan:
    tasks: list = field(default_factory=list)
    skipped_other: list = field(default_factory=list)  # not images or videos


@dataclass
class Outcome:
    src: Path
    dst: Path
    status: str  # "redacted", "complete" (already done), "busy" (another run writes it), "failed"
    error: str = ""
    flagged: int = 0  # frames obscured whole because they could not be analysed
    uncertain: int = 0  # frames showing the scene with a subject hidden: its identity was uncertain
    frames: int = 0  # frames (1 for an image) written
    found: dict = field(default_factory=dict)  # kind -> objects found (tracks, or boxes where none were followed)
    seconds: float = 0.0  # this file's own time, model loading excluded
    # A cluster worker's finished output, still under its temporary name, its unsigned
    # manifest and the sha256 of the input it read: the client checks, signs and commits
    # them (`redact.jobs.cluster`).
    pending: Path | None = None
    record: Manifest | None = None
    input_sha256: str = ""


#: Memory one redaction process takes: about 480 MiB with the default detectors after its
#: first 640x360 frame (README: Run on a cluster).
PROCESS_MEMORY = 480 * 2**20


def process_limit(requested: int, files: int, *, cpus: int | None = None,
                  memory: int | None = None) -> tuple[int, str]:
    """How many redaction processes to start here for ``files`` files, and why fewer than asked.

    Parameters
    ----------
    requested : int
        What the user asked for (``--jobs N``, ``--cluster local:N``).
    files : int
        Files to redact: a process more than files would only load models.
    cpus, memory : int, optional
        This machine's CPU count and available bytes (default: measured, `redact.jobs.memory.available_bytes`);
        each process keeps about a CPU busy and needs `PROCESS_MEMORY`.

    Returns
    -------
    (int, str)
        The count (at least 1) and the reason it is below ``requested`` ("" when it is not).

    Examples
    --------
    >>> process_limit(3, 1, cpus=8, memory=2**34)
    (1, '1 file to redact')
    >>> process_limit(9999, 50, cpus=64, memory=2**31)
    (4, '2.0 GiB of memory available, about 480 MiB per process')
    """
    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    memory = available_bytes() if memory is None else memory
    limits = [(files, f"{files} file{'s' if files != 1 else ''} to redact"), (cpus, f"{cpus} CPUs here")]
    if memory is not None:
        limits.append((memory // PROCESS_MEMORY, f"{memory / 2**30:.1f} GiB of memory available, about "
                                                 f"{PROCESS_MEMORY >> 20} MiB per process"))
    allowed, why = requested, ""
    for limit, reason in limits:
        if max(1, limit) < allowed:
            allowed, why = max(1, limit), reason
    return allowed, why




def plan(inputs, output, *, single_file_output: bool) -> BatchPlan:
    """Pair every input file with its output path, mirroring folders.

    A single input file with ``single_file_output`` goes to ``output`` itself; otherwise
    ``output`` is a folder, and each folder input's tree is recreated inside it. Raises
    `UsageError` (nothing written) when any destination would be an input of the run.
    """
    result = BatchPlan()
    output = Path(output)
    spellings = []  # how the user named each task's input, in task order
    for text in inputs:
        given = Path(text)
        if given.is_dir():
            if real_path(output).is_relative_to(real_path(given)):
                raise UsageError(f"output folder {output} is inside the input folder {given}; "
                                 "choose an output outside it so outputs are never read as inputs")
            for path in _files_under(given):
                if is_internal(path) or path.name.endswith(MANIFEST_SUFFIX):
                    continue
                rel = path.relative_to(given)
                if is_image(path) or is_video(path):
                    result.tasks.append(Task(path, output_name(output / rel)))
                    spellings.append(f"{path} (in the input folder {os.fspath(text)})")
                else:
                    result.skipped_other.append(path)
        elif given.is_file():
            if not (is_image(given) or is_video(given)):
                result.skipped_other.append(given)
                continue
            if single_file_output:
                check_output_suffix(given, output)
                result.tasks.append(Task(given, output))
            else:
                result.tasks.append(Task(given, output_name(given, output)))
            spellings.append(os.fspath(text))
        else:
            raise not_a_file(given)
    if not single_file_output and not output.is_dir() and (is_image(output) or is_video(output)):
        raise UsageError(f"output {output} looks like a file name, but these inputs need a folder; "
                         "give a folder (one input file may go to a file name)")
    _refuse_inputs_given_twice(result.tasks, spellings)
    _refuse_inputs_as_outputs(result.tasks)
    dsts = [t.dst for t in result.tasks]
    if len(set(dsts)) != len(dsts):
        clash = next(d for d in dsts if dsts.count(d) > 1)
        raise UsageError(f"two inputs would both be written to {clash} (e.g. clip.mov and clip.mp4); "
                         "redact them into different folders")
    return result


def _files_under(folder: Path) -> list:
    """Every file under ``folder`` (symbolic links to folders not followed), sorted. A folder
    that cannot be listed is a `UsageError`: its clips would otherwise go unredacted, unsaid,
    in a run that exits 0."""
    def refuse(exc: OSError):
        raise UsageError(f"input folder {exc.filename} cannot be read ({os_reason(exc)}); "
                         "give redact read access to it, or leave it out of the inputs")

    files = []
    for dirpath, _, names in os.walk(folder, onerror=refuse):
        for name in names:
            path = Path(dirpath) / name
            try:
                if path.is_file():
                    files.append(path)
            except OSError as exc:  # a folder that can be listed but not entered (chmod a-x)
                refuse(exc)
    return sorted(files)


def _identity(path: Path):
    st = path.stat()
    return st.st_dev, st.st_ino


def _refuse_inputs_given_twice(tasks, spellings) -> None:
    """One file named twice (``a.mp4 ./a.mp4``, a link to it, a hard link, or a file and its
    folder) is a mistake, said as such: otherwise it is redacted twice, or refused as two
    inputs clashing on one output without saying they are one file."""
    seen: dict = {}  # (device, inode) -> the first spelling
    for task, spelling in zip(tasks, spellings):
        key = _identity(task.src)
        if key in seen:
            first = seen[key]
            said = f"{first} is given twice" if first == spelling else f"{first} and {spelling} are the same file"
            raise UsageError(f"input {said}; give it once")
        seen[key] = spelling


def _refuse_inputs_as_outputs(tasks) -> None:
    """No destination (or its manifest) may be any input of the run: by real path, and by
    inode for hard links. With ``--overwrite`` it would replace an input otherwise."""
    paths = {real_path(t.src): t.src for t in tasks}
    inodes = {_identity(t.src): t.src for t in tasks}
    for task in tasks:
        for dst in (task.dst, manifest_path(task.dst)):
            real = real_path(dst)
            hit = paths.get(real) or (inodes.get(_identity(dst)) if dst.exists() else None)
            if hit == task.src:
                raise UsageError(f"output {dst} is the input file; choose another output path")
            if hit is not None:
                raise UsageError(f"output {dst} (for {task.src}) would replace the input {hit}; choose an "
                                 "output folder outside the input folders")


def run_one(task: Task, policy, options: JobOptions, force: bool, progress_factory=None, *, detectors=None,
            seal=None) -> Outcome:
    """Redact one task here and say how it went; every failure becomes a failed `Outcome`.

    ``detectors`` (built in this process, default: built for the file) and ``seal`` (a
    `redact.jobs.seal.HandOff` on a cluster worker) go to `redact.jobs.files.redact_file` with ``options``.
    """
    progress = None
    started = time.perf_counter()
    try:
        if progress_factory is not None and is_video(task.src):
            progress = progress_factory(task)
        done = redact_file(task.src, task.dst, policy, skip_complete=not force, overwrite=options.overwrite,
                           crf=options.crf, preset=options.preset, models_dir=options.models_dir,
                           detectors=detectors, seal=seal, progress=progress)
        if done is None:
            return Outcome(task.src, task.dst, "complete")
        flagged = done.flagged()
        whole = sum(f.unanalysed for f in flagged)
        return Outcome(task.src, task.dst, "redacted", flagged=whole, uncertain=len(flagged) - whole,
                       frames=done.frames_out, found=found(done), seconds=time.perf_counter() - started)
    except OutputBusyError as exc:
        return Outcome(task.src, task.dst, "busy", str(exc))
    except Exception as exc:  # every failure is collected and reported; none stops the batch
        return Outcome(task.src, task.dst, "failed", one_line(output_refused(task.dst, exc) or exc))
    finally:
        if progress is not None:
            progress.close()


def found(manifest: Manifest) -> dict:
    """What a redaction found, per kind (``{"face": 3, "plate": 1}``): the most it detected
    at once in a frame (a tracker breaks and repeats one object, so its tracks overcount),
    or its boxes where it followed none (an image). Zones and unreadable frames (kind
    ``other``) are not finds."""
    return {kind: count.found for kind, count in manifest.counted().items() if count.found and kind != "other"}


def one_line(exc: BaseException) -> str:
    """An error as one line for the summary: its own words where it is one of ours, else with its type."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    known = isinstance(exc, (UsageError, RedactionIncomplete, VideoError, ImageError, ModelMissingError, IncidentError))
    return text if known else f"{type(exc).__name__}: {text}"
