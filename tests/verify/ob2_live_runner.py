"""Run the 1EdTech Open Badges 2.0 validator against a LIVE Portfolio server.

Runs in the validator's own virtualenv (tests/awards/ob/.ob2-validator-venv). Requests to the
live server's origin go through for real; the OB 2.0 JSON-LD context is answered from the local
copy; any other URL fails, so nothing leaves the machine.

usage: python ob2_live_runner.py INPUT.json
  INPUT.json: {"origin": "http://127.0.0.1:PORT", "context": <OB 2.0 context JSON>,
               and one of "input_url": <assertion URL>, "input_png": <base64 baked PNG>,
               "input_svg": <baked SVG text>; "recipient": {"email": ...} | null}
Prints {"valid": bool, "errorCount": n, "messages": [...], "requested": [...]}.
"""

import base64
import io
import json
import sys

import responses
from openbadges import verify

OB2_CONTEXT = "https://w3id.org/openbadges/v2"


def main(path):
    with open(path, encoding="utf-8") as handle:
        spec = json.load(handle)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(spec["origin"] + "/")
        mock.add(
            responses.GET,
            OB2_CONTEXT,
            body=json.dumps(spec["context"]),
            status=200,
            content_type="application/ld+json",
        )
        if "input_png" in spec:
            badge_input = io.BytesIO(base64.b64decode(spec["input_png"]))
            badge_input.name = "badge.png"
        elif "input_svg" in spec:
            badge_input = io.BytesIO(spec["input_svg"].encode("utf-8"))
            badge_input.name = "badge.svg"
        else:
            badge_input = spec["input_url"]
        result = verify(badge_input, spec.get("recipient"), use_cache=False)
        requested = [call.request.url for call in mock.calls]
    report = result.get("report", {})
    print(
        json.dumps(
            {
                "valid": bool(report.get("valid")),
                "errorCount": report.get("errorCount"),
                "messages": report.get("messages", []),
                "requested": requested,
            },
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
