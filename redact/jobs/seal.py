"""What makes a redacted file a finished record: the incident as applied, the input tagged,
the manifest signed with the device key and the share logged, before the output and its
manifest are renamed into place; and the same for an output a cluster worker handed off."""
from __future__ import annotations

import json
from pathlib import Path

from .. import __version__
from ..core.policy import Policy
from ..media.safeio import OutputBusyError, atomic_pair, check_paths, is_partial_of, output_lock, sha256_file
from ..pipeline.redactor import Redactor
from ..record.manifest import Manifest, manifest_path, own_record
from ..record.sharelog import Share, logged_delivery
from ..record.signing import device_key, fingerprint, input_tag, sign_manifest


class RedactionIncomplete(RuntimeError):
    """A file could not be redacted as asked (unreadable to its end, or not analysed)."""


def incident_record(incident, manifest: Manifest, window: dict | None, subjects, redactor: Redactor) -> dict:
    """The incident as applied, for the manifest: no names of people, no pixels; each
    subject's frames as the redactor really showed them (`Redactor.subjects_shown`)."""
    person = manifest.counted().get("person")
    people = (person.tracks or 0) if person is not None else 0
    return {
        "window": window,
        "subjects_asked": len(incident.subjects),
        "subjects_kept": redactor.subjects_shown(subjects) if subjects is not None else [],
        "bystanders_obscured": people if incident.subjects else None,
        "frames_for_review": len(subjects.review) if subjects is not None else 0,
        "keep_zones": len(incident.keep_zones),
        "privacy_zones": len(incident.privacy_zones),
        "request": incident.request, "recipient": incident.recipient, "purpose": incident.purpose,
    }


def seal(pair, manifest: Manifest, delivery, input_sha256: str) -> None:
    """Tag the input and sign the manifest with the device key and, for an incident, log
    the share as pending, before anything is renamed into place: whatever can fail fails
    while nothing is visible. ``delivery`` (`redact.record.sharelog.logged_delivery`) confirms the
    share once the rename has succeeded, or withdraws it."""
    key = device_key()
    manifest.input_hmac = input_tag(key, input_sha256, manifest.output_sha256)
    signed = sign_manifest(json.loads(manifest.to_json()), key)
    pair.companion_bytes = (json.dumps(signed, indent=2, sort_keys=True) + "\n").encode()
    incident = manifest.incident
    if incident:
        delivery.begin(Share(request=incident["request"], recipient=incident["recipient"],
                             purpose=incident["purpose"], output_sha256=manifest.output_sha256,
                             fingerprint=fingerprint(key)))


class HandOff:
    """A ``seal`` for a machine that must not sign (a cluster worker): the finished output
    stays under its temporary name, unrecorded, and ``pending`` and ``manifest`` say where and
    what it is, for `seal_handed_off` on the machine that holds the device key."""

    def __init__(self) -> None:
        self.pending: Path | None = None
        self.manifest: Manifest | None = None
        self.input_sha256 = ""

    def __call__(self, pair, manifest: Manifest, delivery, input_sha256: str) -> None:
        # Nothing is tagged, signed or logged here: `seal_handed_off` does all three.
        pair.hand_off()
        self.pending, self.manifest, self.input_sha256 = pair.path, manifest, input_sha256


def seal_handed_off(src, dst, pending, manifest: Manifest, *, policy: Policy, input_sha256: str,
                    overwrite: bool = False) -> None:
    """Sign and commit an output that another machine redacted from ``src`` and handed off
    (`HandOff`), for a run with ``policy``.

    Here, under ``dst``'s lock: ``dst`` may be written (as `redact_file` decides, again: a
    file may have appeared there since the worker looked); ``pending`` must be a temporary
    name of ``dst`` and hold the bytes ``manifest`` records (its ``output_sha256``); the
    record must be of this tool version and ``policy`` (the worker cannot have its own
    request or settings signed); ``src`` must still hold the bytes the worker read
    (``input_sha256``). The input is then tagged, the manifest signed with this device's
    key and the pair committed as `redact_file` commits it, share log included.

    Raises
    ------
    OutputBusyError
        Another run holds ``dst``, or took it over (and removed ``pending``) meanwhile.
    redact.media.safeio.UsageError
        ``dst`` exists, is not ours and ``overwrite`` is false (``pending`` is deleted).
    RedactionIncomplete
        Any other check fails (``pending`` is deleted); nothing is written.
    """
    import os
    import stat

    dst, pending = Path(dst), Path(pending)
    if not is_partial_of(dst, pending):
        raise RedactionIncomplete(f"{dst}: the worker handed off {pending}, which is not a temporary output of "
                                  f"{dst.name}; nothing was written")
    with output_lock(dst):
        try:
            handed = os.lstat(pending)
        except FileNotFoundError:
            raise OutputBusyError(f"another redact run took over {dst} before this run signed it; left it to "
                                  "that run (run again once it has finished)") from None
        with logged_delivery() as delivery, atomic_pair(dst, manifest_path(dst), partial=pending) as pair:
            check_paths(src, dst, overwrite=overwrite or own_record(dst) is not None)
            if not stat.S_ISREG(handed.st_mode) or sha256_file(pending) != manifest.output_sha256:
                raise RedactionIncomplete(f"{dst}: the output the worker handed off is not the file its manifest "
                                          "records (sha256); deleted, nothing was written")
            if manifest.tool_version != __version__ or manifest.policy != policy:
                raise RedactionIncomplete(f"{dst}: the worker's record is not of this run's settings (tool "
                                          f"{manifest.tool_version}, policy differs: {manifest.policy != policy}); "
                                          "deleted, nothing was written")
            read_here = sha256_file(src)
            if read_here != input_sha256:
                raise RedactionIncomplete(f"{src} changed while it was redacted on the cluster; deleted the output, "
                                          "run again")
            seal(pair, manifest, delivery, read_here)
