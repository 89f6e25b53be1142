"""Issue 15 on the upload page: capture straight from the phone's camera and recorder (finding
18), and "Upload something new" from a submission element returns there with the new item
chosen for that element (4)."""

from __future__ import annotations

import io
import re

from tests.conftest import Client
from tests.evidence import samples
from tests.submissions.conftest import Scenario, scenario, start  # noqa: F401 - fixture


def test_upload_page_offers_capture_inputs(client: Client, scenario: Scenario) -> None:
    client.login("wren@example.org")
    html = client.get("/portfolio/upload").get_data(as_text=True)
    for text, accept, capture in (
        ("Take a photo", "image/*", "environment"),
        ("Record a video", "video/*", "environment"),
        ("Record audio", "audio/*", "user"),
    ):
        label = re.search(
            rf'<label class="button capture-button" for="([^"]+)">{text}</label>', html
        )
        assert label, text
        field = re.search(
            rf'<input class="capture-input" type="file" id="{label.group(1)}"[^>]*>', html
        )
        assert field, text
        assert f'accept="{accept}"' in field.group(0) and f'capture="{capture}"' in field.group(0)


def test_upload_from_an_element_returns_to_it(client: Client, scenario: Scenario) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    element = scenario.elements[1].public_id
    page = client.get(f"/submissions/{pid}").get_data(as_text=True)
    link = f"/portfolio/upload?next=/submissions/{pid}&amp;element={element}"
    assert link in page
    upload = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "After uploading you go back to" in upload and "your submission" in upload
    assert f'data-attach-url="/submissions/{pid}/evidence"' in upload
    token = client.csrf_token(link.replace("&amp;", "&"))
    resp = client.post(
        "/portfolio/upload",
        data={
            "csrf_token": token,
            "next": f"/submissions/{pid}",
            "element": element,
            "file": (io.BytesIO(samples.jpeg()), "weld.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    assert resp.location.startswith(f"/submissions/{pid}?attach=")
    assert resp.location.endswith(f"#element-{element}")
    item_id = re.search(r"attach=([^&]+)", resp.location).group(1)  # type: ignore[union-attr]
    back = client.get(resp.location.split("#")[0]).get_data(as_text=True)
    section = back.split(f'id="element-{element}"', 1)[1].split("</section>", 1)[0]
    assert f'<option value="{item_id}" selected>' in section
    assert "Press Attach to add it to this element." in back
    # Another page is no return target (no open redirect through the upload form).
    outside = client.get("/portfolio/upload?next=https://evil.example/&element=x").get_data(
        as_text=True
    )
    assert "After uploading you go back" not in outside
