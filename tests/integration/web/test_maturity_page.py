"""The maturity self-assessment's page over HTTP (issue 21): the questionnaire one screen per
parameter with its answers kept in the session, what it refuses (a level that is not 1–5, a
parameter that does not exist, a form without its CSRF token, no session, another role), the
result saved with its date and answers, and the comparison of the latest with the previous."""

from __future__ import annotations

import re

from regulars.domain.maturity import PARAMETERS

from ...support.web import csrf_token, seed_map


def _answer(client, parameter: str, level: str | None, go: str = "next"):
    token = csrf_token(client.get(f"/maturity/questions/{parameter}").text)
    data = {"csrf_token": token, "go": go}
    if level is not None:
        data["level"] = level
    return client.post(f"/maturity/questions/{parameter}", data=data, follow_redirects=False)


def _take(client, levels: dict[str, int]) -> str:
    """Answer every screen in order (``levels``), finish, and return the saved result's path."""
    client.post("/maturity/restart", data={"csrf_token": csrf_token(client.get(
        "/maturity").text)}, follow_redirects=False)
    for i, p in enumerate(PARAMETERS):
        last = i == len(PARAMETERS) - 1
        r = _answer(client, p, str(levels[p]), "finish" if last else "next")
        assert r.status_code == 303, (p, r.status_code, r.text[:300])
        if not last:
            assert r.headers["location"] == f"/maturity/questions/{PARAMETERS[i + 1]}"
    location = r.headers["location"]
    assert re.fullmatch(r"/maturity/[0-9a-zA-Z_-]+", location), location
    return str(location)


def _levels_in_table(html: str) -> dict[str, int]:
    rows = re.findall(r'<tr data-parameter="(\w+)">\s*<th scope="row">[^<]*</th>\s*'
                      r'<td class="num">(\d)</td>', html)
    return {k: int(v) for k, v in rows}


def test_each_screen_offers_five_descriptions_and_shows_its_place(browser):
    owner = browser("owner")
    html = owner.get(f"/maturity/questions/{PARAMETERS[4]}").text
    assert "5 of 16" in html
    assert len(re.findall(r'<input type="radio" name="level" value="[1-5]"', html)) == 5
    assert 'name="go" value="back"' in html and 'name="go" value="next"' in html
    first = owner.get(f"/maturity/questions/{PARAMETERS[0]}").text
    assert 'value="back"' not in first  # nothing before the first
    last = owner.get(f"/maturity/questions/{PARAMETERS[-1]}").text
    assert 'name="go" value="finish"' in last and 'value="next"' not in last


def test_an_answer_is_kept_through_back_and_reload(browser):
    owner = browser("owner")
    r = _answer(owner, PARAMETERS[0], "4")
    assert (r.status_code, r.headers["location"]) == (303, f"/maturity/questions/{PARAMETERS[1]}")
    r = _answer(owner, PARAMETERS[1], "2", go="back")
    assert r.headers["location"] == f"/maturity/questions/{PARAMETERS[0]}"
    for p, level in ((PARAMETERS[0], "4"), (PARAMETERS[1], "2")):  # a reload: still chosen
        html = owner.get(f"/maturity/questions/{p}").text
        assert re.search(rf'value="{level}" checked', html), p
        assert len(re.findall(r'value="\d" checked', html)) == 1
    # the questionnaire continues at the first screen not answered
    r = owner.get("/maturity/questions", follow_redirects=False)
    assert r.headers["location"] == f"/maturity/questions/{PARAMETERS[2]}"
    assert "Continue the questionnaire (2 of 16 answered)" in owner.get("/maturity").text


def test_back_without_a_choice_goes_back_and_keeps_nothing(browser):
    owner = browser("owner")
    r = _answer(owner, PARAMETERS[3], None, go="back")
    assert (r.status_code, r.headers["location"]) == (303, f"/maturity/questions/{PARAMETERS[2]}")
    r = owner.get("/maturity/questions", follow_redirects=False)
    assert r.headers["location"] == f"/maturity/questions/{PARAMETERS[0]}"


def test_a_level_that_is_not_one_to_five_is_refused_with_the_screen_again(browser):
    owner = browser("owner")
    for given, words in (("7", "The level must be 1, 2, 3, 4 or 5, not 7."),
                         ("x", "The level must be 1, 2, 3, 4 or 5, not x."),
                         ("0", "The level must be 1, 2, 3, 4 or 5, not 0."),
                         ("", "Choose one of the five descriptions."),
                         (None, "Choose one of the five descriptions.")):
        r = _answer(owner, PARAMETERS[2], given)
        assert r.status_code == 422, given
        assert words in r.text, given
        assert 'role="alert"' in r.text and "3 of 16" in r.text
    # nothing was kept
    assert "Continue the questionnaire" not in owner.get("/maturity").text


def test_an_unknown_parameter_is_the_404_page(browser):
    owner = browser("owner")
    assert owner.get("/maturity/questions/happiness").status_code == 404
    r = _answer(owner, PARAMETERS[0], "3")  # a session with a token
    token = csrf_token(owner.get("/maturity").text)
    r = owner.post("/maturity/questions/happiness", data={"csrf_token": token, "level": "3"},
                   follow_redirects=False)
    assert r.status_code == 404 and "Page not found" in r.text
    assert owner.get("/maturity/0123456789abcdef0123456789abcdef").status_code == 404


def test_a_form_without_its_token_is_refused_and_keeps_nothing(browser):
    owner = browser("owner")
    owner.get("/maturity")
    r = owner.post(f"/maturity/questions/{PARAMETERS[0]}", data={"level": "3"},
                   follow_redirects=False)
    assert r.status_code == 403 and "The form has expired" in r.text
    r = owner.post(f"/maturity/questions/{PARAMETERS[0]}",
                   data={"level": "3", "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    assert "Continue the questionnaire" not in owner.get("/maturity").text


def test_without_a_session_the_pages_send_to_sign_in_and_other_roles_are_refused(browser):
    anonymous = browser()
    for path in ("/maturity", f"/maturity/questions/{PARAMETERS[0]}"):
        r = anonymous.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/sign-in?next=")
    for role in ("manager", "marketer", "cashier"):
        r = browser(role).get("/maturity")
        assert r.status_code == 403 and "Not for your role" in r.text


def test_finishing_with_screens_unanswered_sends_to_the_first_of_them(browser):
    owner = browser("owner")
    _answer(owner, PARAMETERS[0], "2")
    r = _answer(owner, PARAMETERS[-1], "3", go="finish")
    assert (r.status_code, r.headers["location"]) == (303, f"/maturity/questions/{PARAMETERS[1]}")
    assert "14 parameters are not answered yet." in owner.get(r.headers["location"]).text


def test_the_saved_assessment_shows_each_level_the_stage_and_its_place_in_the_history(browser):
    owner = browser("owner")
    # hand-made: ten parameters at 2, four at 1, two at 3 → the stage is 2
    levels = dict.fromkeys(PARAMETERS, 2)
    for p in PARAMETERS[:4]:
        levels[p] = 1
    for p in PARAMETERS[-2:]:
        levels[p] = 3
    path = _take(owner, levels)
    html = owner.get(path).text
    assert "The assessment is saved." in html
    assert _levels_in_table(html) == levels
    assert "Overall stage: level 2, Tradition." in html
    # what holds the rest back: the four at level 1, in the table's order
    gaps = re.search(r'<ul class="maturity-gaps" id="gaps">(.*?)</ul>', html, re.S)
    assert gaps
    assert re.findall(r"<li>([^<]*)</li>", gaps.group(1)) == [
        "Goal-setting: level 1, Chaos", "Architecture: level 1, Chaos",
        "Result: level 1, Chaos", "Quality: level 1, Chaos"]
    # three next steps, all of level 2 (fourteen parameters at 1–2: nothing beyond level 3, and
    # the lowest first): count the regulars (lifts goal-setting and result), give them managers
    # (architecture), record feedback (quality); each links its feature
    steps = re.search(r'<ol class="maturity-steps" id="next-steps">(.*?)</ol>', html, re.S)
    assert steps
    assert re.findall(r'<a href="([^"]+)">', steps.group(1)) == [
        "/dashboard", "/worklist", "/customers"]
    assert "Lifts: Goal-setting, Result." in steps.group(1)
    assert '<svg id="maturity-profile"' in html
    assert len(re.findall(r"<rect [^>]*data-level=", html)) == 16
    assert len(re.findall(r'<a href="/maturity/[0-9a-zA-Z_-]+">', html)) == 1  # the history
    # the draft is gone once saved: the next questionnaire starts empty
    assert "Continue the questionnaire" not in html
    assert owner.get("/maturity").text.count('data-parameter="') == 16


def test_the_latest_is_compared_with_the_previous_parameter_by_parameter(browser):
    owner = browser("owner")
    first = dict.fromkeys(PARAMETERS, 2)
    second = dict(first)
    second[PARAMETERS[0]] = 3  # up
    second[PARAMETERS[1]] = 4  # up
    second[PARAMETERS[2]] = 1  # down
    old = _take(owner, first)
    new = _take(owner, second)
    html = owner.get("/maturity").text
    assert _levels_in_table(html) == second  # the latest is shown
    assert re.search(r"2 up, 1 down, 13 the same", html)
    changes = re.findall(r'<td class="maturity-change maturity-(\w+)">', html)
    assert changes[:3] == ["up", "up", "down"] and set(changes[3:]) == {"same"}
    assert html.index(f'href="{new}"') < html.index(f'href="{old}"')  # newest first
    # the first one has nothing before it
    assert "maturity-change" not in owner.get(old).text
    # a new round shows each screen's answer of last time, without choosing it
    html = owner.get(f"/maturity/questions/{PARAMETERS[1]}").text
    assert re.search(r"Last time \([^)]+\): level 4, Goals\.", html)
    assert not re.search(r'value="\d" checked', html)


def test_what_the_data_shows_is_preselected_with_its_evidence_and_kept_with_the_answer(
        browser, services):
    # seed_map: 12 customers, 4 of them regulars, all 4 with a manager, no goal set, an NPS
    # answer from each: goal-setting 2 (regulars counted, no goals), motivation 2 (managers
    # assigned), interaction 3 (surveys); quality has no data: nothing suggested
    seed_map(services)
    owner = browser("owner")
    html = owner.get("/maturity/questions/goal_setting").text
    assert "What your data shows: level 2, Tradition." in html
    assert re.findall(r'value="(\d)" checked', html) == ["2"]
    evidence = re.search(r'<ul class="maturity-evidence">(.*?)</ul>', html, re.S)
    assert evidence and len(re.findall(r"<li>", evidence.group(1))) == 2
    assert "What your data shows" in owner.get("/maturity/questions/motivation").text
    quality = owner.get("/maturity/questions/quality").text
    assert "What your data shows" not in quality
    assert not re.search(r'value="\d" checked', quality)
    # the owner changes goal-setting to 1 and takes the rest at 3: the suggestion is kept
    levels = dict.fromkeys(PARAMETERS, 3)
    levels["goal_setting"] = 1
    html = owner.get(_take(owner, levels)).text
    suggested = dict(re.findall(
        r'<tr data-parameter="(\w+)">.*?<td>(\d|—)(?:<details.*?</details>)?</td>\s*</tr>',
        html, re.S))
    assert suggested["goal_setting"] == "2" and suggested["motivation"] == "2"
    assert suggested["interaction"] == "3" and suggested["quality"] == "—"
    assert _levels_in_table(html) == levels
    # the evidence kept with the suggestion is shown beside it
    row = re.search(r'<tr data-parameter="goal_setting">(.*?)</tr>', html, re.S)
    assert row and len(re.findall(r"<li>", row.group(1))) == 2
