"""Batch redaction of files and folders: planning, resume, parallel jobs, a summary."""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .jobs import is_image, is_video, output_name, redact_file
from .report import is_complete, manifest_path, sha256_file
from .safeio import PARTIAL_SUFFIX, UsageError


@dataclass(frozen=True)
class Task:
    src: Path
    dst: Path


@dataclass
class Plan:
    tasks: list = field(default_factory=list)
    skipped_other: list = field(default_factory=list)  # not images or videos


@dataclass
class Outcome:
    src: Path
    dst: Path
    status: str  # "redacted", "complete" (skipped, already done), "failed"
    error: str = ""


def plan(inputs, output, *, single_file_output: bool) -> Plan:
    """Pair every input file with its output path, mirroring folders.

    A single input file with ``single_file_output`` goes to ``output`` itself; otherwise
    ``output`` is a folder, and each folder input's tree is recreated inside it.
    """
    result = Plan()
    output = Path(output)
    for given in map(Path, inputs):
        if given.is_dir():
            if output.resolve().is_relative_to(given.resolve()):
                raise UsageError(f"output folder {output} is inside the input folder {given}; "
                                 "choose an output outside it so outputs are never read as inputs")
            for path in sorted(p for p in given.rglob("*") if p.is_file()):
                if path.name.startswith(".") and path.name.endswith(PARTIAL_SUFFIX):
                    continue
                if path.name.endswith(".redaction.json"):
                    continue
                rel = path.relative_to(given)
                if is_image(path) or is_video(path):
                    result.tasks.append(Task(path, output_name(output / rel)))
                else:
                    result.skipped_other.append(path)
        elif given.is_file():
            if not (is_image(given) or is_video(given)):
                result.skipped_other.append(given)
            elif single_file_output:
                result.tasks.append(Task(given, output))
            else:
                result.tasks.append(Task(given, output_name(given, output)))
        else:
            raise UsageError(f"input {given} does not exist")
    for task in result.tasks:
        if task.dst.resolve() == task.src.resolve():
            raise UsageError(f"output {task.dst} is the input file; choose another output path")
    dsts = [t.dst for t in result.tasks]
    if len(set(dsts)) != len(dsts):
        clash = next(d for d in dsts if dsts.count(d) > 1)
        raise UsageError(f"two inputs would both be written to {clash} (e.g. clip.mov and clip.mp4); "
                         "redact them into different folders")
    return result


def _run_one(task: Task, policy, options: dict, force: bool, progress_factory=None) -> Outcome:
    progress = None
    try:
        ours = manifest_path(task.dst).exists()
        if ours and not force and is_complete(task.dst, sha256_file(task.src), policy):
            return Outcome(task.src, task.dst, "complete")
        if progress_factory is not None and is_video(task.src):
            progress = progress_factory(task)
        # An output with our manifest beside it is ours to redo; any other file needs --overwrite.
        redact_file(task.src, task.dst, policy, **dict(options, overwrite=options.get("overwrite") or ours),
                    **({"progress": progress} if progress else {}))
        return Outcome(task.src, task.dst, "redacted")
    except Exception as exc:  # every failure is collected and reported; none stops the batch
        return Outcome(task.src, task.dst, "failed", f"{type(exc).__name__}: {exc}")
    finally:
        if progress is not None:
            progress.close()


def run(plan_: Plan, policy, *, options: dict, jobs: int = 1, force: bool = False,
        on_done=None, progress_factory=None) -> list[Outcome]:
    """Redact every task; returns one `Outcome` per task, failures included.

    Outputs already complete (output and manifest matching this input) are skipped unless
    ``force``. ``options`` go to `redact.jobs.redact_file` (``overwrite``, ``crf``, ...).
    ``progress_factory(task)`` returns a per-file callable with a ``close()`` (one process only).
    """
    if jobs <= 1:
        outcomes = []
        for task in plan_.tasks:
            outcomes.append(_run_one(task, policy, options, force, progress_factory))
            if on_done:
                on_done(outcomes[-1])
        return outcomes
    # Processes, not threads: each file's decode, detect and encode stay on their own core.
    outcomes = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_run_one, task, policy, options, force) for task in plan_.tasks]
        for future in as_completed(futures):
            outcomes.append(future.result())
            if on_done:
                on_done(outcomes[-1])
    order = {t.src: i for i, t in enumerate(plan_.tasks)}
    return sorted(outcomes, key=lambda o: order[o.src])

