"""Run-directory analysis: load -> summarize -> evaluate; HTML report and SLO gate.

Pure pipeline (no files written, no exit):
    ``reports.load.load(run_dir) -> RunFrames``
    ``reports.slis.summarize(frames, params) -> Summary``
    ``reports.slo.load_slo(path) -> Slo`` and ``reports.evaluate.evaluate(summary, slo) -> cases``
Edges (write files): ``reports.gate.run_gate(run_dir, slo_path) -> GateResult`` and
``reports.render.write_report(run_dir, slo_path=None) -> Path``; ``reports.cli`` adds
``stampede report`` and ``stampede gate``. Bad input raises ``reports.errors.ReportsError``.
Nothing heavy is imported here: ``stampede --help`` must not load pandas.
"""
