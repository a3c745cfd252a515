"""The 基金收支 and 基金预测 dashboards, imported from conf/superset/dashboards, show the lake's numbers.

基金收支 reads the nightly tables; 基金预测 reads the monthly forecast tables, which the services
fixtures add to the same lake (`forecast_tables`: one `forecast` step as of its last night).

A real Superset 6.1.0 over the real Trino over the lake the nightly pipeline built; the page is
opened in headless Chromium, as a person would: log in, wait for every chart, look at them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import urllib.parse
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakehouse.config import load_env
from lakehouse.services import superset

pytest_plugins = ["tests.services.fixtures_superset"]
pytestmark = pytest.mark.services

TABLE = "lakehouse.gold.fund_monthly"
BUNDLE = superset.DASHBOARDS_DIR / superset.FUND_DASHBOARD
# What each chart must show, stated independently of the bundle: grouping column of
# gold.fund_monthly and, per result column, the table column it sums.
EXPECTED: dict[str, tuple[str, dict[str, str]]] = {
    "本期收入合计": ("month", {"income": "income_yuan"}),
    "本期支出合计": ("month", {"expenditure": "expenditure_yuan"}),
    "月度基金支出趋势": ("month", {"expenditure": "expenditure_yuan"}),
    "各险种收支": ("scheme_name", {"收入（元）": "income_yuan", "支出（元）": "expenditure_yuan"}),
    "各区支出": ("region", {"expenditure": "expenditure_yuan"}),
}
BIG_NUMBERS = {"本期收入合计": "income_yuan", "本期支出合计": "expenditure_yuan"}
NO_RESULTS = ("此查询没有数据返回", "No results were returned for this query", "没有数据", "No data")
CENT = Decimal("0.01")


def screenshot_path() -> Path:
    """Where the dashboard screenshot goes: <state>/screenshots of the default environment."""
    return load_env().paths.state / "screenshots" / "fund_dashboard.png"


# --- Trino, the reference -------------------------------------------------------------------


def trino_sums(trino_server: Any, group: str, columns: list[str], where: str = "") -> dict[Any, dict[str, Decimal]]:
    """{group value: {column: SUM(column)}} straight from Trino, as the user Superset connects as."""
    sums = ", ".join(f"sum({c})" for c in columns)
    rows = trino_server.query(
        f"SELECT {group}, {sums} FROM {TABLE} {where} GROUP BY {group}", user=superset.TRINO_USER
    )
    return {r[0]: dict(zip(columns, r[1:], strict=True)) for r in rows}


def latest_month(trino_server: Any, where: str = "") -> dict[str, Decimal]:
    """Income and expenditure of the latest month (what the big numbers show as 本期)."""
    by_month = trino_sums(trino_server, "month", list(BIG_NUMBERS.values()), where)
    assert by_month, f"{TABLE} has no rows {where}"
    return by_month[max(by_month)]


def _key(value: Any) -> Any:
    """Superset's JSON (epoch ms for times) and Trino's Python values on one footing."""
    if isinstance(value, dt.datetime):
        return value.date() if value.tzinfo is None else value.astimezone(dt.UTC).date()
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 10**11:
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC).date()  # epoch milliseconds
    return value


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


# --- the browser ----------------------------------------------------------------------------

CHART_STATE_JS = """
return arguments[0].map(function (id) {
  var holder = document.querySelector('.dashboard-chart-id-' + id);
  if (!holder) { return {id: id, present: false}; }
  var box = holder.querySelector('[data-test="chart-container"]') || holder;
  var visible = function (el) { var r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  var canvas = Array.prototype.some.call(box.querySelectorAll('canvas'), visible);
  var svg = Array.prototype.some.call(box.querySelectorAll('svg'), function (s) {
    return visible(s) && s.querySelectorAll('path, rect, circle').length > 2; });
  var number = box.querySelector('.header-line');
  var alert = box.querySelector('.ant-alert, [role="alert"], [data-test="error-tooltip"]');
  var empty = box.querySelector('.ant-empty, [data-test="empty-state"]');
  var title = holder.querySelector('[data-test="editable-title"]');
  return {
    id: id, present: true,
    loading: !!holder.querySelector('[data-test="loading-indicator"]'),
    canvas: canvas, svg: svg,
    number: number ? number.innerText.trim() : null,
    alert: alert ? (alert.innerText || 'alert').trim() : null,
    empty: !!empty,
    title: title ? title.innerText.trim() : null,
    text: box.innerText
  };
});
"""


def login(driver: Any, server: Any) -> None:
    """Sign in through Superset's login form."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{server.url}/login/")
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "username"))
    driver.find_element(By.ID, "username").send_keys(server.admin_user)
    driver.find_element(By.ID, "password").send_keys(server.admin_password)
    driver.find_element(By.CSS_SELECTOR, '[data-test="login-button"]').click()
    WebDriverWait(driver, 60).until(lambda d: "/login" not in d.current_url)


def wait_for_charts(driver: Any, chart_ids: list[int], timeout: float = 180) -> list[dict[str, Any]]:
    """Poll until every chart has finished: drawn (canvas/svg/number), an error, or empty."""
    deadline = time.monotonic() + timeout
    states: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        states = driver.execute_script(CHART_STATE_JS, chart_ids)
        done = [
            s["present"]
            and not s["loading"]
            and bool(s["canvas"] or s["svg"] or s["number"] or s["alert"] or s["empty"])
            for s in states
        ]
        if all(done):
            time.sleep(1.5)  # ECharts animates its first frame in; let it settle for the screenshot
            return driver.execute_script(CHART_STATE_JS, chart_ids)
        time.sleep(0.5)
    raise AssertionError(f"charts still not rendered after {timeout:.0f}s: {states}")


def assert_charts_show_data(states: list[dict[str, Any]], names: dict[int, str]) -> None:
    for s in states:
        name = names[s["id"]]
        assert s["alert"] is None, f"{name}: error shown: {s['alert']}"
        assert not s["empty"], f"{name}: empty state shown"
        assert not any(t in s["text"] for t in NO_RESULTS), f"{name}: 'no results' shown"
        assert s["canvas"] or s["svg"] or s["number"], f"{name}: nothing drawn"
        assert s["title"] == name, f"chart title {s['title']!r} != {name!r}"


def save_full_page(driver: Any, path: Path) -> Path:
    """Screenshot of the whole dashboard: grow the window to the page's height first."""
    height = driver.execute_script(
        "var g = document.querySelector('.grid-container');"
        "return Math.max(document.documentElement.scrollHeight,"
        " g ? g.getBoundingClientRect().bottom + window.scrollY + 40 : 0);"
    )
    width, chrome = driver.get_window_size()["width"], driver.get_window_size()["height"] - driver.execute_script(
        "return window.innerHeight;"
    )
    driver.set_window_size(width, int(height) + chrome)
    time.sleep(1.5)  # charts resize to the new viewport
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path


@dataclass
class ChartResponse:
    url: str
    status: int
    slice_id: int | None
    body: dict[str, Any] | None


def chart_data_responses(driver: Any) -> list[ChartResponse]:
    """The page's /api/v1/chart/data calls (from Chromium's performance log), with their bodies."""
    requests: dict[str, dict[str, Any]] = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent" and "/api/v1/chart/data" in params["request"]["url"]:
            requests[params["requestId"]] = {"url": params["request"]["url"], "post": params["request"].get("postData")}
        elif message["method"] == "Network.responseReceived" and params["requestId"] in requests:
            requests[params["requestId"]]["status"] = params["response"]["status"]
    out = []
    for request_id, req in requests.items():
        query = urllib.parse.parse_qs(urllib.parse.urlparse(req["url"]).query)
        slice_id = json.loads(query["form_data"][0]).get("slice_id") if "form_data" in query else None
        try:
            body = json.loads(driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": request_id})["body"])
        except Exception:  # body no longer kept by the browser
            body = None
        out.append(ChartResponse(req["url"], int(req.get("status", 0)), slice_id, body))
    return out


# --- tests ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard_charts(superset_server: Any) -> dict[int, str]:
    """{chart id: title} of the imported dashboard, checked against the bundle in the repository."""
    result = superset_server.api().get(f"/api/v1/dashboard/{superset.dashboard_slug(BUNDLE)}/charts")["result"]
    charts = {c["id"]: c["slice_name"] for c in result}
    in_bundle = {yaml.safe_load(p.read_text(encoding="utf-8"))["slice_name"] for p in (BUNDLE / "charts").glob("*.yaml")}
    assert set(charts.values()) == in_bundle == set(EXPECTED)
    return charts


def test_dashboard_renders_every_chart_with_the_lakes_numbers(
    superset_server: Any, trino_server: Any, chromium: Any, dashboard_charts: dict[int, str], capsys: Any
) -> None:
    """Headless Chromium: every chart draws data, no errors, big numbers equal Trino; screenshot saved."""
    driver = chromium()
    login(driver, superset_server)
    driver.get(superset_server.dashboard_url())
    began = time.monotonic()
    states = wait_for_charts(driver, sorted(dashboard_charts))
    render_seconds = time.monotonic() - began

    shot = save_full_page(driver, screenshot_path())
    with capsys.disabled():
        print(f"\nfund dashboard screenshot: {shot} (charts rendered in {render_seconds:.1f}s, "
              f"Superset boot {superset_server.boot_seconds:.1f}s)")

    assert driver.title, "page has no title"
    assert_charts_show_data(states, dashboard_charts)

    # The numbers on screen are the lake's: 本期 = the latest month.
    latest = latest_month(trino_server)
    by_title = {dashboard_charts[s["id"]]: s for s in states}
    for title, column in BIG_NUMBERS.items():
        shown = by_title[title]["number"]
        assert shown and re.fullmatch(r"-?[\d,]+\.\d\d", shown), f"{title}: {shown!r}"
        assert Decimal(shown.replace(",", "")) == latest[column].quantize(CENT), title

    # What the browser asked for and got: every chart query succeeded and returned rows.
    assert_every_chart_query_returned_rows(driver, dashboard_charts)


def test_chart_data_api_returns_what_trino_returns(
    superset_server: Any, trino_server: Any, dashboard_charts: dict[int, str]
) -> None:
    """Each chart's saved query through the chart-data API: its rows equal Trino's for the same SQL,
    and its per-group totals equal a hand-written GROUP BY over gold.fund_monthly."""
    api = superset_server.api()
    for chart_id, title in sorted(dashboard_charts.items()):
        payload = api.get(f"/api/v1/chart/{chart_id}/data/?format=json&type=full&force=true")["result"][0]
        assert payload["status"] == "success", (title, payload.get("error"))
        rows, names = payload["data"], payload["colnames"]
        assert rows, f"{title}: no rows"

        # Same SQL, straight to Trino (as the user Superset connects as).
        sql = api.get(f"/api/v1/chart/{chart_id}/data/?format=json&type=query")["result"][0]["query"]
        sql = sql.strip().rstrip(";")  # the DBAPI takes one statement without the terminator
        direct = trino_server.query(sql, user=superset.TRINO_USER)
        via_superset = sorted(
            (tuple(_key(r[n]) if i == 0 else _money(r[n]) for i, n in enumerate(names)) for r in rows), key=str
        )
        from_trino = sorted(
            (tuple(_key(v) if i == 0 else _money(v) for i, v in enumerate(r)) for r in direct), key=str
        )
        assert via_superset == from_trino, f"{title}: chart-data API != Trino for\n{sql}"

        # And what the chart means, stated independently of its definition.
        group, metrics = EXPECTED[title]
        expected = trino_sums(trino_server, group, list(metrics.values()))
        assert names[0] == group and set(names[1:]) == set(metrics), (title, names)
        actual = {_key(r[group]): {metrics[m]: _money(r[m]) for m in metrics} for r in rows}
        assert actual == {
            _key(k): {c: v.quantize(CENT) for c, v in sums.items()} for k, sums in expected.items()
        }, title
        for column in metrics.values():
            total = sum(v[column] for v in actual.values())
            assert total == sum(v[column] for v in expected.values()).quantize(CENT), (title, column)


def test_scheme_filter_narrows_every_chart(
    superset_server: Any, trino_server: Any, chromium: Any, dashboard_charts: dict[int, str]
) -> None:
    """The 险种 native filter (set through the URL) applies to the big numbers: they equal Trino's for that scheme."""
    schemes = sorted(r[0] for r in trino_server.query(f"SELECT DISTINCT scheme_name FROM {TABLE}", user="superset"))
    assert schemes
    scheme = schemes[0]
    literal = scheme.replace("'", "!'")
    native_filters = (
        f"(NATIVE_FILTER-scheme:(extraFormData:(filters:!((col:scheme_name,op:IN,val:!('{literal}')))),"
        f"filterState:(value:!('{literal}')),id:NATIVE_FILTER-scheme,ownState:()))"
    )
    driver = chromium()
    login(driver, superset_server)
    driver.get(superset_server.dashboard_url() + "?native_filters=" + urllib.parse.quote(native_filters))
    states = wait_for_charts(driver, sorted(dashboard_charts))
    assert_charts_show_data(states, dashboard_charts)
    sql_scheme = scheme.replace("'", "''")
    latest = latest_month(trino_server, where=f"WHERE scheme_name = '{sql_scheme}'")
    by_title = {dashboard_charts[s["id"]]: s for s in states}
    for title, column in BIG_NUMBERS.items():
        shown = by_title[title]["number"]
        assert Decimal(shown.replace(",", "")) == latest[column].quantize(CENT), (title, scheme)
    # Every chart's query carried the filter: the per-scheme chart got exactly one row.
    responses = {r.slice_id: r for r in chart_data_responses(driver) if r.slice_id is not None}
    by_scheme = next(i for i, t in dashboard_charts.items() if t == "各险种收支")
    assert responses[by_scheme].body is not None
    assert [row["scheme_name"] for row in responses[by_scheme].body["result"][0]["data"]] == [scheme]


# --- 基金预测 (fund forecast) dashboard -----------------------------------------------------------

FORECAST_BUNDLE = superset.DASHBOARDS_DIR / superset.FORECAST_DASHBOARD
# Fan charts: scheme → title; the forecast months of each must equal gold.fund_forecast (latest as_of,
# all regions, expenditure), its intervals nested lo_95 <= lo_80 <= yhat <= hi_80 <= hi_95.
FAN_CHARTS = {"110": "企业职工基本养老保险基金支出预测", "120": "机关事业单位养老保险基金支出预测",
              "170": "城乡居民基本养老保险基金支出预测"}
FAN_COLUMNS = {"预测__yhat": "yhat", "80%区间__yhat_lower": "lo_80", "80%区间__yhat_upper": "hi_80",
               "95%区间__yhat_lower": "lo_95", "95%区间__yhat_upper": "hi_95"}
# Scenario charts: title → (result column, SQL over gold.fund_projection's ALL-region rows per year and scenario)
SCENARIO_CHARTS = {
    "两种情景养老金年度支出": ("pensions", "sum(pensions_yuan)"),
    "两种情景基金年度当期结余": ("net_flow", "sum(contributions_yuan - pensions_yuan)"),
    "制度抚养比（在职/退休）": ("dependency_ratio", "sum(contributors) / nullif(sum(pensioners), 0)"),
}


@pytest.fixture(scope="module")
def forecast_charts(superset_server: Any) -> dict[int, str]:
    """{chart id: title} of the imported 基金预测 dashboard, checked against its bundle."""
    slug = superset.dashboard_slug(FORECAST_BUNDLE)
    result = superset_server.api().get(f"/api/v1/dashboard/{slug}/charts")["result"]
    charts = {c["id"]: c["slice_name"] for c in result}
    in_bundle = {yaml.safe_load(p.read_text(encoding="utf-8"))["slice_name"]
                 for p in (FORECAST_BUNDLE / "charts").glob("*.yaml")}
    assert set(charts.values()) == in_bundle == set(FAN_CHARTS.values()) | set(SCENARIO_CHARTS)
    return charts


def test_forecast_dashboard_renders_every_chart_with_data(
    superset_server: Any, chromium: Any, forecast_charts: dict[int, str], capsys: Any
) -> None:
    """Headless Chromium: the fan charts, both scenarios and the dependency ratio draw data, no errors."""
    driver = chromium()
    login(driver, superset_server)
    driver.get(superset_server.dashboard_url(superset.FORECAST_DASHBOARD))
    states = wait_for_charts(driver, sorted(forecast_charts))
    shot = save_full_page(driver, screenshot_path().with_name("forecast_dashboard.png"))
    with capsys.disabled():
        print(f"\nforecast dashboard screenshot: {shot}")
    assert_charts_show_data(states, forecast_charts)
    assert_every_chart_query_returned_rows(driver, forecast_charts)


def _chart_rows(api: Any, chart_id: int) -> list[dict[str, Any]]:
    payload = api.get(f"/api/v1/chart/{chart_id}/data/?format=json&type=full&force=true")["result"][0]
    assert payload["status"] == "success", payload.get("error")
    return list(payload["data"])


def test_fan_charts_show_the_latest_forecast_with_nested_intervals(
    superset_server: Any, trino_server: Any, forecast_charts: dict[int, str]
) -> None:
    api = superset_server.api()
    ids = {title: i for i, title in forecast_charts.items()}
    checked = 0
    for scheme, title in FAN_CHARTS.items():
        rows = _chart_rows(api, ids[title])
        expected = {
            _key(r[0]): r[1:] for r in trino_server.query(
                "SELECT month, yhat, lo_80, hi_80, lo_95, hi_95 FROM lakehouse.gold.fund_forecast "
                "WHERE region = 'ALL' AND measure = 'expenditure' AND scheme = '" + scheme + "' "
                "AND as_of = (SELECT max(as_of) FROM lakehouse.gold.fund_forecast)", user=superset.TRINO_USER)}
        assert len(expected) == 12, (title, expected)
        shown = {_key(r["month"]): r for r in rows if _key(r["month"]) in expected}
        assert set(shown) == set(expected), title
        for month, values in expected.items():
            got = [shown[month][label] for label in FAN_COLUMNS]
            assert got == pytest.approx(list(values), rel=1e-9), (title, month)
            lo95, lo80, yhat, hi80, hi95 = (shown[month][k] for k in (
                "95%区间__yhat_lower", "80%区间__yhat_lower", "预测__yhat", "80%区间__yhat_upper", "95%区间__yhat_upper"))
            assert lo95 <= lo80 <= yhat <= hi80 <= hi95, (title, month)
            checked += 1
        history = [r for r in rows if r["实际"] is not None]
        assert history and max(_key(r["month"]) for r in history) < min(expected), title
    assert checked == 12 * len(FAN_CHARTS)


def test_scenario_charts_equal_the_projection_per_year_and_scenario(
    superset_server: Any, trino_server: Any, forecast_charts: dict[int, str]
) -> None:
    """Both scenarios, every complete projected year (12 months; the first and last are partial): the
    chart's value is the sum over the projection's rows of that year."""
    api = superset_server.api()
    ids = {title: i for i, title in forecast_charts.items()}
    labels = {r[0] for r in trino_server.query("SELECT DISTINCT scenario_label FROM lakehouse.gold.fund_projection",
                                               user=superset.TRINO_USER)}
    assert len(labels) == 2
    for title, (column, sql) in SCENARIO_CHARTS.items():
        rows = _chart_rows(api, ids[title])
        expected = {(int(r[0]), r[1]): r[2] for r in trino_server.query(
            f"SELECT year(month), scenario_label, {sql} FROM lakehouse.gold.fund_projection WHERE region = 'ALL' "
            "GROUP BY 1, 2 HAVING count(DISTINCT month) = 12", user=superset.TRINO_USER)}
        assert len(expected) >= 2 * 28, title  # 30 projected years, all but the first and last complete
        shown = {(_key(r["month"]).year, r["scenario_label"]): r[column] for r in rows}
        assert set(shown) == set(expected) and {s for _, s in shown} == labels, title
        assert list(shown.values()) == pytest.approx([expected[k] for k in shown], rel=1e-9), title


# --- per-role users (issue 12) --------------------------------------------------------------


def _sqllab(api: superset.ApiClient, sql: str) -> Any:
    database_id = api.get("/api/v1/database/")["result"][0]["id"]
    return api.post("/api/v1/sqllab/execute/", {"database_id": database_id, "sql": sql, "runAsync": False})


def test_unauthenticated_and_wrong_password_are_refused(superset_server: Any) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{superset_server.url}/api/v1/chart/", timeout=30)
    assert err.value.code == 401
    with pytest.raises(RuntimeError, match="HTTP 401"):
        superset.ApiClient(superset_server.env, "analyst", "not-the-password")


def test_analyst_queries_trino_as_the_analyst_role(superset_server: Any) -> None:
    api = superset.ApiClient(superset_server.env, "analyst", superset.user_password(superset_server.env, "analyst"))
    result = _sqllab(api, "SELECT birth_date FROM lakehouse.gold.person_profile")
    dates = [r["birth_date"] for r in result["data"]]
    assert dates and all(str(d).endswith("-01-01") for d in dates if d)  # masked to the year
    with pytest.raises(RuntimeError, match="Access Denied|PERMISSION_DENIED|restricted"):
        _sqllab(api, "SELECT certno FROM lakehouse.restricted.identity")


def test_viewer_sees_dashboards_but_no_sql_lab(superset_server: Any, dashboard_charts: dict[int, str]) -> None:
    api = superset.ApiClient(superset_server.env, "viewer", superset.user_password(superset_server.env, "viewer"))
    chart_id = min(dashboard_charts)
    payload = api.get(f"/api/v1/chart/{chart_id}/data/?format=json&type=full&force=true")["result"][0]
    assert payload["status"] == "success" and payload["data"]
    with pytest.raises(RuntimeError, match="HTTP 403"):
        _sqllab(api, "SELECT 1")


def test_superset_process_has_no_pipeline_secret(superset_server: Any) -> None:
    pid = int((superset.settings(superset_server.env).home / "superset.pid").read_text())
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    names = {item.split(b"=", 1)[0].decode() for item in environ if item}
    assert "SUPERSET_SECRET_KEY" in names  # its own secret it does get
    assert "LAKEHOUSE_PSEUDONYM_KEY" not in names and "AIRFLOW_ADMIN_PASSWORD" not in names


def assert_every_chart_query_returned_rows(driver: Any, charts: dict[int, str]) -> None:
    """What the browser asked for and got: one successful chart-data query with rows per chart."""
    responses = chart_data_responses(driver)
    assert responses and all(r.status == 200 for r in responses), [(r.url, r.status) for r in responses]
    per_chart = {r.slice_id: r for r in responses if r.slice_id is not None}
    assert set(per_chart) == set(charts)
    for chart_id, response in per_chart.items():
        assert response.body is not None, f"{charts[chart_id]}: response body not kept"
        result = response.body["result"][0]
        assert result["status"] == "success" and result["rowcount"] > 0, (charts[chart_id], result)
