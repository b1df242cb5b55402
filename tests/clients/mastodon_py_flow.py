"""Mastodon.py against Roost's Mastodon-compatible API, as an app would use it.

Run by tests/clients/run.sh with the venv's Python, against a fresh server:

    FLOW_URL=http://127.0.0.1:8081 \
    FLOW_ACCOUNTS='[{"username": …, "email": …, "password": …}, {…}]' \
        python mastodon_py_flow.py

Both accounts sign in through the OAuth flow (the authorize page's form posted like a
browser, the code read from the page, exchanged by `Mastodon.log_in`), then the first one
posts with an image, reads and pages the home timeline, favourites, follows and unfollows
the second, searches, schedules a status, reads the notifications the second one caused and
receives an `update` from the user stream; the second one then revokes its token. Every
call after the sign-in is the library's own. Each step is reported on its own line; a
failed step prints the error and the last requests and responses, the remaining steps still
run, and the exit status is 1.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import struct
import sys
import threading
import time
import traceback
import zlib
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests
from mastodon import CallbackStreamListener, Mastodon, MastodonUnauthorizedError

SCOPES = ["read", "write", "follow"]
REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
STREAM_WAIT_SECS = 10.0

BASE_URL = os.environ["FLOW_URL"].rstrip("/")
ACCOUNTS = json.loads(os.environ["FLOW_ACCOUNTS"])

# The last exchanges with the server, printed when a step fails.
exchanges: deque[str] = deque(maxlen=4)


def record(response: requests.Response, *_args, **_kwargs) -> None:
    request = response.request
    body = request.body
    if isinstance(body, bytes):
        body = body[:300].decode("utf-8", "replace") if b"\0" not in body[:300] else f"<{len(body)} bytes>"
    streamed = response.headers.get("content-type", "").startswith("text/event-stream")
    text = "<event stream>" if streamed else response.text[:600]
    scheme = request.headers.get("Authorization", "none").split(" ")[0]
    exchanges.append(f"{request.method} {request.url}\n    authorization: {scheme}, body: {body!r}\n"
                     f"    -> {response.status_code} {response.headers.get('content-type', '')}"
                     f"{' Link: ' + response.headers['link'] if 'link' in response.headers else ''}\n"
                     f"    {text}")


def new_session() -> requests.Session:
    session = requests.Session()
    session.hooks["response"].append(record)
    return session


class StepFailed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


failures: list[str] = []


def step(name: str, run) -> None:
    started = time.monotonic()
    try:
        run()
    except Exception as error:  # noqa: BLE001 — every failure is reported, then the next step runs
        failures.append(name)
        print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)
        if not isinstance(error, StepFailed):
            traceback.print_exc(limit=4, file=sys.stdout)
        if exchanges:
            print("  last exchanges:")
            for exchange in exchanges:
                print("  " + exchange.replace("\n", "\n  "))
        sys.stdout.flush()
        return
    finally:
        exchanges.clear()
    print(f"ok   {name} ({time.monotonic() - started:.1f} s)", flush=True)


# ---------------------------------------------------------------------------------------
# A small PNG, made here


def png(width: int = 8, height: int = 8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))

    # One filter byte per row, then RGB pixels.
    rows = b"".join(b"\0" + b"".join(bytes((x * 30 % 256, y * 30 % 256, 120)) for x in range(width))
                    for y in range(height))
    header = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


# ---------------------------------------------------------------------------------------
# The authorize page, driven like a browser


class Page(HTMLParser):
    """The forms of a page (fields, submit buttons) and the text or value of `id="code"`."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.code: str | None = None
        self._capturing: str | None = None
        self._captured: list[str] = []
        self._button: dict | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = {name: (value or "") for name, value in attrs}
        if attributes.get("id") == "code":
            if tag in ("input", "textarea") and attributes.get("value"):
                self.code = attributes["value"].strip()
            else:
                self._capturing = tag
                self._captured = []
        if tag == "form":
            self.forms.append({"action": attributes.get("action", ""),
                               "method": attributes.get("method", "get").lower(),
                               "fields": [], "submits": []})
        elif tag == "input" and self.forms:
            kind = attributes.get("type", "text").lower()
            if kind in ("submit", "image"):
                self.forms[-1]["submits"].append({"name": attributes.get("name", ""),
                                                  "value": attributes.get("value", ""),
                                                  "label": attributes.get("value", "")})
            elif kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    self.forms[-1]["fields"].append((attributes.get("name", ""), attributes.get("value", "on"), kind))
            elif attributes.get("name"):
                self.forms[-1]["fields"].append((attributes["name"], attributes.get("value", ""), kind))
        elif tag == "button" and self.forms:
            if attributes.get("type", "submit").lower() == "submit":
                self._button = {"name": attributes.get("name", ""), "value": attributes.get("value", ""),
                                "label": ""}
                self.forms[-1]["submits"].append(self._button)

    def handle_endtag(self, tag):
        if tag == "button":
            self._button = None
        if self._capturing == tag:
            self.code = "".join(self._captured).strip()
            self._capturing = None

    def handle_data(self, data):
        if self._capturing:
            self._captured.append(data)
        if self._button is not None:
            self._button["label"] += data


def refuses(submit: dict) -> bool:
    words = f"{submit['name']} {submit['value']} {submit['label']}".lower()
    return any(word in words for word in ("deny", "reject", "cancel", "refuse", "decline"))


def browser_sign_in(authorize_url: str, account: dict) -> str:
    """GETs the authorize page and posts its forms back as a browser would (hidden inputs
    as they are, cookies kept, email and password typed in, the approving button pressed)
    until a page shows the code in `id="code"`; returns the code."""
    browser = new_session()
    browser.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) roost-client-flows"
    response = browser.get(authorize_url, timeout=15)
    expect(response.status_code == 200,
           f"GET {authorize_url} answered {response.status_code}: {response.text[:300]!r}")
    expect("text/html" in response.headers.get("content-type", ""),
           f"the authorize page is {response.headers.get('content-type')!r}, not HTML")
    first = Page(response.text)
    hidden = [name for form in first.forms for name, _value, kind in form["fields"] if kind == "hidden"]
    print(f"     authorize page: cookies {sorted(browser.cookies.keys())}, hidden inputs {hidden}", flush=True)
    for _ in range(4):
        page = Page(response.text)
        if page.code:
            return page.code
        forms = [form for form in page.forms if form["method"] == "post"]
        expect(bool(forms), f"{response.url} has neither a code (id=\"code\") nor a form to post: "
                            f"{response.text[:600]!r}")
        form = forms[0]
        data: list[tuple[str, str]] = []
        for name, value, kind in form["fields"]:
            lowered = name.lower()
            if kind == "password" or "password" in lowered:
                value = account["password"]
            elif kind == "email" or "email" in lowered or lowered in ("username", "login", "user[login]"):
                value = account["email"]
            data.append((name, value))
        approving = [submit for submit in form["submits"] if not refuses(submit)]
        if approving and approving[0]["name"]:
            data.append((approving[0]["name"], approving[0]["value"]))
        action = urljoin(response.url, form["action"] or response.url)
        response = browser.post(action, data=data, timeout=15)
        expect(response.status_code == 200,
               f"POST {action} answered {response.status_code} (after redirects): {response.text[:400]!r}")
    raise StepFailed("no code after posting the authorize page's forms four times")


# ---------------------------------------------------------------------------------------
# The flow

state: dict = {}


def api(**kwargs) -> Mastodon:
    return Mastodon(api_base_url=BASE_URL, session=new_session(), version_check_mode="created",
                    request_timeout=15, ratelimit_method="throw", **kwargs)


def sign_in(account: dict, key: str) -> None:
    client_id, client_secret = Mastodon.create_app(
        f"roost-clients-{key}", scopes=SCOPES, redirect_uris=REDIRECT_URI,
        website="https://example.org/roost", api_base_url=BASE_URL, session=new_session())
    expect(bool(client_id) and bool(client_secret), "create_app returned no client id or secret")
    mastodon = api(client_id=client_id, client_secret=client_secret)
    authorize_url = mastodon.auth_request_url(redirect_uris=REDIRECT_URI, scopes=SCOPES,
                                              state=secrets.token_urlsafe(12), allow_http=True)
    code = browser_sign_in(authorize_url, account)
    token = mastodon.log_in(code=code, redirect_uri=REDIRECT_URI, scopes=SCOPES, allow_http=True)
    expect(bool(token), "log_in returned no token")
    me = mastodon.account_verify_credentials()
    expect(me.username == account["username"], f"verify_credentials is {me.username!r}, "
                                                f"not {account['username']!r}")
    expect(me.acct == account["username"], f"acct is {me.acct!r}")
    expect("source" in me, "verify_credentials has no `source`")
    state[key] = mastodon
    state[key + "_account"] = me


def post_with_image() -> None:
    alice: Mastodon = state["alice"]
    media = alice.media_post(png(), mime_type="image/png", file_name="dots.png",
                             description="a small grid of coloured dots")
    expect(media.type == "image", f"media type is {media.type!r}")
    if media.url is None:  # processed asynchronously, as Mastodon may do
        media = alice.media(media)
    expect(bool(media.url), f"the media has no url: {media!r}")
    status = alice.status_post("A post from Mastodon.py with an image #roostclients",
                               media_ids=[media])
    expect(len(status.media_attachments) == 1, f"{len(status.media_attachments)} attachments")
    expect(str(status.media_attachments[0].id) == str(media.id), "the attachment is not the uploaded media")
    expect(status.account.id == state["alice_account"].id, "the status is not the poster's")
    expect("#roostclients" in status.content.lower() or "roostclients" in status.content.lower(),
           f"content is {status.content!r}")
    fetched = alice.status(status.id)
    expect(fetched.id == status.id, "GET the status by id returned another")
    image = requests.get(media.url, timeout=15)
    expect(image.status_code == 200 and image.headers.get("content-type", "").startswith("image/"),
           f"GET the media url answered {image.status_code} {image.headers.get('content-type')!r}")
    state["image_status"] = status


def page_home_timeline() -> None:
    alice: Mastodon = state["alice"]
    posted = [alice.status_post(f"Timeline post number {n} from Mastodon.py").id for n in range(5)]
    first = alice.timeline_home(limit=2)
    expect(len(first) == 2, f"the first page has {len(first)} statuses, not 2")
    expect([s.id for s in first] == posted[:-3:-1], "the first page is not the two newest posts, newest first")
    seen = [s.id for s in first]
    page = first
    for _ in range(10):
        page = alice.fetch_next(page)
        if not page:
            break
        expect(len(page) <= 2, f"a page of {len(page)} statuses with limit=2")
        seen += [s.id for s in page]
    expect(len(seen) == len(set(seen)), f"pages overlap: {seen}")
    expect(seen == sorted(seen, key=int, reverse=True), f"pages are not newest first: {seen}")
    expect(all(id_ in seen for id_ in posted), "paging did not reach every post")
    expect(state["image_status"].id in seen, "paging did not reach the post with the image")
    everything = [s.id for s in alice.fetch_remaining(first)]
    expect(everything == seen, f"fetch_remaining gave {everything}, not the pages' {seen}")
    # And back: the page above the second page is the first.
    second = alice.fetch_next(first)
    above = alice.fetch_previous(second)
    expect([s.id for s in above] == [s.id for s in first],
           f"fetch_previous of the second page gave {[s.id for s in above]}, not the first page")


def favourite() -> None:
    alice: Mastodon = state["alice"]
    status = state["image_status"]
    answered = alice.status_favourite(status)
    expect(answered.favourited is True, f"favourited is {answered.favourited!r}")
    expect(answered.favourites_count == 1, f"favourites_count is {answered.favourites_count}")
    expect(alice.status(status.id).favourited is True, "GET the status after favouriting: not favourited")
    expect(status.id in [s.id for s in alice.favourites()], "the status is not in favourites()")
    by = alice.status_favourited_by(status)
    expect([a.id for a in by] == [state["alice_account"].id], "favourited_by is not the favouriter")


def follow_and_unfollow() -> None:
    alice: Mastodon = state["alice"]
    bob_name = state["bob_account"].username
    bob = alice.account_lookup(bob_name)
    expect(bob.id == state["bob_account"].id, "account_lookup found another account")
    found = alice.account_search(bob_name)
    expect(bob.id in [a.id for a in found], "account_search did not find the account")
    relationship = alice.account_follow(bob)
    expect(relationship.following is True, f"after follow, following is {relationship.following!r}")
    expect(alice.account_relationships(bob)[0].following is True, "relationships: not following")
    expect(bob.id in [a.id for a in alice.account_following(state["alice_account"])],
           "the account is not in following")
    relationship = alice.account_unfollow(bob)
    expect(relationship.following is False, f"after unfollow, following is {relationship.following!r}")
    expect(alice.account_relationships(bob)[0].following is False, "relationships: still following")
    # Followed again for the stream below.
    expect(alice.account_follow(bob).following is True, "following again failed")


def search() -> None:
    alice: Mastodon = state["alice"]
    word = "quokka" + secrets.token_hex(3)
    status = alice.status_post(f"Searching for the {word} with Mastodon.py #{word}")
    results = alice.search_v2(word, resolve=False)
    expect(status.id in [s.id for s in results.statuses], f"search_v2 found statuses "
                                                          f"{[s.id for s in results.statuses]}, not {status.id}")
    expect(word in [t.name.lower() for t in results.hashtags], f"search_v2 hashtags: {results.hashtags!r}")
    results = alice.search_v2(state["bob_account"].username, result_type="accounts")
    expect(state["bob_account"].id in [a.id for a in results.accounts], "search_v2 did not find the account")


def schedule() -> None:
    alice: Mastodon = state["alice"]
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)
    scheduled = alice.status_post("Scheduled from Mastodon.py", scheduled_at=at)
    expect("scheduled_at" in scheduled and "params" in scheduled,
           f"status_post with scheduled_at returned {scheduled!r}, not a ScheduledStatus")
    expect(abs((scheduled.scheduled_at - at).total_seconds()) < 2, f"scheduled_at is {scheduled.scheduled_at}")
    expect(scheduled.params.text == "Scheduled from Mastodon.py", f"params.text is {scheduled.params.text!r}")
    listed = alice.scheduled_statuses()
    expect(scheduled.id in [s.id for s in listed], "the scheduled status is not listed")
    expect(alice.scheduled_status(scheduled).id == scheduled.id, "GET the scheduled status failed")
    # Not on the timeline yet.
    expect(all(s.content.find("Scheduled from Mastodon.py") < 0 for s in alice.timeline_home(limit=20)),
           "the scheduled status is already on the home timeline")


def notifications() -> None:
    alice: Mastodon = state["alice"]
    bob: Mastodon = state["bob"]
    alice_account = state["alice_account"]
    status = state["image_status"]
    bob.status_favourite(status.id)
    bob.account_follow(alice_account.id)
    mention = bob.status_post(f"@{alice_account.username} hello from Mastodon.py")
    wanted = {"favourite", "follow", "mention"}
    deadline = time.monotonic() + 5
    while True:
        listed = alice.notifications(limit=30)
        by_type = {n.type: n for n in listed if n.account.id == state["bob_account"].id}
        if wanted <= by_type.keys() or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    expect(wanted <= by_type.keys(), f"notifications from the second account: {sorted(by_type)}, "
                                     f"not {sorted(wanted)}")
    expect(by_type["favourite"].status.id == status.id, "the favourite notification's status")
    expect(by_type["mention"].status.id == mention.id, "the mention notification's status")
    only = alice.notifications(types=["mention"])
    expect({n.type for n in only} == {"mention"}, f"types=[mention] gave {[n.type for n in only]}")
    one = alice.notifications(id=by_type["follow"].id)
    expect(one.type == "follow", f"GET one notification gave {one.type!r}")


def stream_update() -> None:
    alice: Mastodon = state["alice"]
    bob: Mastodon = state["bob"]
    received: list = []
    arrived = threading.Event()
    errors: list = []

    def on_update(status):
        received.append(status)
        arrived.set()

    listener = CallbackStreamListener(update_handler=on_update,
                                      stream_error_handler=lambda error: errors.append(error))
    handle = alice.stream_user(listener, run_async=True, reconnect_async=False, timeout=30)
    try:
        deadline = time.monotonic() + 10
        while handle.connection is None and handle.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        expect(handle.connection is not None, f"the user stream did not open: {errors!r}")
        posted = bob.status_post("A status for the stream, from Mastodon.py")
        deadline = time.monotonic() + STREAM_WAIT_SECS
        while time.monotonic() < deadline:
            if any(s.id == posted.id for s in received):
                break
            arrived.wait(0.2)
            arrived.clear()
        ids = [s.id for s in received]
        expect(posted.id in ids, f"no `update` for {posted.id} within {STREAM_WAIT_SECS:.0f} s "
                                 f"(updates received: {ids}, errors: {errors!r})")
        update = next(s for s in received if s.id == posted.id)
        expect(update.account.id == state["bob_account"].id, "the update's account")
    finally:
        # Closing waits for the reading thread to let go of the connection, which it does at
        # the next event or heartbeat: not worth waiting for at the end of the flow.
        threading.Thread(target=handle.close, daemon=True).start()


def revoke() -> None:
    """Signing out: the app revokes its token (`POST /oauth/revoke`), which then stops working."""
    bob: Mastodon = state["bob"]
    bob.revoke_access_token(allow_http=True)
    try:
        bob.account_verify_credentials()
    except MastodonUnauthorizedError:
        return
    raise StepFailed("the revoked token still works")


def main() -> int:
    expect(len(ACCOUNTS) >= 2, "FLOW_ACCOUNTS needs two accounts")
    print(f"Mastodon.py against {BASE_URL}", flush=True)
    step("sign in through the authorize page (first account)", lambda: sign_in(ACCOUNTS[0], "alice"))
    step("sign in through the authorize page (second account)", lambda: sign_in(ACCOUNTS[1], "bob"))
    if "alice" not in state or "bob" not in state:
        print("FAILED: cannot go on without signing in")
        return 1
    step("post a status with an image", post_with_image)
    step("read and page the home timeline", page_home_timeline)
    step("favourite", favourite)
    step("follow and unfollow", follow_and_unfollow)
    step("search", search)
    step("schedule a status", schedule)
    step("notifications", notifications)
    step("an update from the user stream", stream_update)
    step("revoke the token", revoke)
    if failures:
        print(f"FAILED: {len(failures)} step(s): {', '.join(failures)}")
        return 1
    print("PASS: Mastodon.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
