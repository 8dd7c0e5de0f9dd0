"""Text that would display other than it reads is refused, and escaped when it comes back
out (issue 21, item 5)."""
import pytest

from redact.app.review import _ascii
from redact.core.incident import Incident, IncidentError
from redact.core.safetext import shown, unsafe_reason
from redact.record.sharelog import Share, ShareLogError, append_share, read_shares

LYING = {
    "\u202eDP nwotynA": "U+202E RIGHT-TO-LEFT OVERRIDE",  # displays as "Anytown PD"
    "claim\u2066 7": "U+2066 LEFT-TO-RIGHT ISOLATE",
    "claim\x7f": "U+007F",  # DEL
    "claim\x85": "U+0085",  # C1 next line
    "claim\x1b[2J": "U+001B",  # clears the terminal
    "two\u2028lines": "U+2028 LINE SEPARATOR",
    "half\ud800": "U+D800",  # a lone surrogate: printing it raises
    "in\u200bvisible": "U+200B ZERO WIDTH SPACE",
    "tag\U000e0041": "U+E0041 TAG LATIN CAPITAL LETTER A",  # invisible text
    "private\ue000": "U+E000",
}
PLAIN = ["Anytown PD", "Zoë Müller", "Анна", "محمد", "שלום", "東京都", "👍🏽", "می\u200cخواهم", "👩\u200d👩\u200d👧"]


@pytest.mark.parametrize("text", LYING, ids=[n for n in LYING.values()])
def test_lying_text_is_named_and_escaped(text):
    why = unsafe_reason(text)
    assert why is not None and LYING[text] in why
    out = shown(text)
    assert unsafe_reason(out) is None
    out.encode("utf-8")  # never raises, even for a lone surrogate
    assert "\\" in out


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_of_every_script_passes_unchanged(text):
    assert unsafe_reason(text) is None
    assert shown(text) == text


@pytest.mark.parametrize("field", ["request", "recipient", "purpose"])
def test_incident_refuses_it_naming_the_code_point(field):
    with pytest.raises(IncidentError, match=f"{field}: .*U\\+202E RIGHT-TO-LEFT OVERRIDE"):
        Incident.from_dict({field: "\u202eDP nwotynA"})
    with pytest.raises(IncidentError, match="U\\+D800"):
        Incident.from_dict({field: "x\ud800"})


def test_share_log_refuses_it_on_write(config):
    share = Share(request="r", recipient="\u202eDP nwotynA", purpose="p", output_sha256="ab" * 32,
                  fingerprint="ed25519:ab12 cd34 ef56 7890")
    with pytest.raises(ShareLogError, match="U\\+202E"):
        append_share(share)
    assert read_shares().entries == ()


def test_review_sheet_text_escapes_rather_than_hides():
    assert _ascii("recipient: \u202eDP nwotynA") == "recipient: \\u202eDP nwotynA"
    assert _ascii("x\ud800") == "x\\ud800"
    assert _ascii("Zoë") == "Zo?"  # the Hershey font's limit, not a lie
