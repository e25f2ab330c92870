"""The report's stylesheet, inlined into the page (system fonts only: nothing is fetched)."""

CSS = """
:root {
  --text: #1f2937; --muted: #6b7280; --line: #e5e7eb; --card: #ffffff; --page: #f6f7f9;
  --accent: #1d4ed8; --good: #15803d; --bad: #b91c1c; --warn: #b45309;
}
* { box-sizing: border-box; }
html { font-size: 15px; }
body {
  margin: 0; background: var(--page); color: var(--text); line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1180px; margin: 0 auto; padding: 28px 24px 48px; }
header.report { margin-bottom: 20px; }
header.report h1 { margin: 0 0 4px; font-size: 1.7rem; font-weight: 650; }
.meta { color: var(--muted); margin: 0 0 12px; }
.headlines { margin: 0; padding-left: 1.2em; }
.headlines li { margin: 2px 0; }
section {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 18px 22px 20px; margin: 18px 0;
}
section > h2 { margin: 0 0 4px; font-size: 1.2rem; font-weight: 620; }
section > p.lead { margin: 0 0 14px; color: var(--muted); }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; }
.kpi { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; background: #fcfcfd; }
.kpi .label { color: var(--muted); font-size: 0.8rem; }
.kpi .value { font-size: 1.45rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.kpi .note { color: var(--muted); font-size: 0.78rem; }
.pair { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 24px;
        align-items: start; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } }
figure { margin: 0; }
svg.chart { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; font-size: 0.88rem; }
.scroll { overflow-x: auto; max-width: 100%; }
.scroll + .scroll { margin-top: 16px; }
caption { text-align: left; color: var(--muted); font-size: 0.8rem; padding-bottom: 6px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 0.8rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 0.78rem;
         font-weight: 600; }
.badge.good { background: #dcfce7; color: var(--good); }
.badge.bad { background: #fee2e2; color: var(--bad); }
.badge.warn { background: #fef3c7; color: var(--warn); }
.chip { display: inline-block; margin: 1px 3px 1px 0; padding: 0 7px; border-radius: 4px;
        background: #eef2ff; color: #3730a3; font-size: 0.78rem; }
.bar { height: 6px; background: #dbeafe; border-radius: 3px; margin-top: 4px; }
.bar > span { display: block; height: 6px; background: var(--accent); border-radius: 3px; }
ul.evidence { margin: 0; padding-left: 1.1em; }
ul.evidence li { margin: 1px 0; }
details { margin-top: 12px; }
summary { cursor: pointer; color: var(--accent); }
.empty { color: var(--muted); font-style: italic; }
dl.glossary { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.glossary dt { font-weight: 600; }
dl.glossary dd { margin: 0; color: var(--muted); }
footer { color: var(--muted); font-size: 0.8rem; text-align: center; margin-top: 24px; }
@media print {
  body { background: #fff; }
  section { break-inside: avoid; border-color: #ccc; }
  details { display: block; }
}
"""
