"""The report room: what a run directory looks like to a person.

``render`` writes report.html (self-contained: inline CSS and SVG, no scripts) from
test.json, results.json and history.jsonl; ``digest`` boils a history down in one pass;
``plots`` draws the whole-history pictures (matplotlib), ``timeline`` the small SVG charts;
``templates/`` holds the jinja2 pages (the report, the store browser's and a campaign's).

Results are read as data (a checker's ``witness``, never its prose). Imports: the model
only (harness.history, harness.faults, ...), never the runtime, control, app or a plugin.
"""
