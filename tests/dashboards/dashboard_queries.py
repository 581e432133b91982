"""What both dashboard checks need from dashboards/sluice.json: every panel, and each query with
the Grafana template variables replaced by values Prometheus accepts."""


def all_panels(panels):
    """Every panel, rows' nested panels included."""
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def substitute(expr):
    """The query as Prometheus can run it: Grafana's variables replaced."""
    return (expr.replace("${datasource}", "")
                .replace("$__rate_interval", "30s")
                .replace("$__interval", "30s")
                .replace("$__range", "1h")
                .replace("$backend", ".*")
                .replace("$listener", ".*"))
