"""Run the 1EdTech Open Badges 2.0 validator (PyPI `openbadges` 1.1.2) offline.

It runs in its own virtualenv (see requirements.txt): the validator pins old pyld and jsonschema
releases that the application cannot share. Every URL the validator asks for is answered from
the given documents through `responses`; any other request fails, so nothing leaves the machine.

usage: python run_validator.py INPUT.json
  INPUT.json: {"input": <assertion JSON object or URL>, or "input_png": <base64 baked PNG>,
               or "input_svg": <baked SVG text>,
               "documents": {"<url>": <JSON document>},
               "gone": {"<url>": <JSON body answered with 410>},
               "images": {"<url>": "<base64 PNG>"},
               "recipient": {"email": "..."} | null}
Prints {"valid": bool, "errorCount": n, "messages": [...], "report": {...}}.
"""

import base64
import io
import json
import sys

import responses
from openbadges import verify


def main(path):
    with open(path, encoding="utf-8") as handle:
        spec = json.load(handle)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for url, document in spec.get("documents", {}).items():
            mock.add(
                responses.GET,
                url,
                body=json.dumps(document),
                status=200,
                content_type="application/ld+json",
            )
        for url, document in spec.get("gone", {}).items():
            mock.add(
                responses.GET,
                url,
                body=json.dumps(document),
                status=410,
                content_type="application/ld+json",
            )
        for url, data in spec.get("images", {}).items():
            mock.add(
                responses.GET,
                url,
                body=base64.b64decode(data),
                status=200,
                content_type="image/png",
            )
        if "input_png" in spec:
            badge_input = io.BytesIO(base64.b64decode(spec["input_png"]))
            badge_input.name = "badge.png"
        elif "input_svg" in spec:
            badge_input = io.BytesIO(spec["input_svg"].encode("utf-8"))
            badge_input.name = "badge.svg"
        elif isinstance(spec["input"], dict):
            badge_input = json.dumps(spec["input"])
        else:
            badge_input = spec["input"]
        result = verify(badge_input, spec.get("recipient"), use_cache=False)
        requested = [call.request.url for call in mock.calls]
    report = result.get("report", {})
    print(
        json.dumps(
            {
                "valid": bool(report.get("valid")),
                "errorCount": report.get("errorCount"),
                "messages": report.get("messages", []),
                "report": report,
                "requested": requested,
            },
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
