"""Each module's main flow for ``citygov demo``: a module ``<area>.py`` here defines
``ORDER`` (int, lower runs first) and ``run(ctx: portal.demo.DemoContext) -> dict`` returning a short
summary (counts, ids) of what the flow did."""
