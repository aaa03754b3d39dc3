"""``.. plot-output::`` — run code in the pages' plot namespace and show what it prints.

The ``.. plot::`` directive shows code and the figures it draws, but not its printed output, so
a table such as ``print(ps.identify_phases())`` would be invisible on the page. This directive
runs its content in the same namespace as the page's ``:context:`` plot blocks (so it sees their
variables, in page order), in the same working folder, and shows the code followed by what it
printed. An exception fails the build, like a failing plot block.
"""

from __future__ import annotations

import contextlib
import io
import os

from docutils import nodes
from docutils.parsers.rst import Directive


class PlotOutput(Directive):
    has_content = True

    def run(self):
        from matplotlib.sphinxext import plot_directive

        code = "\n".join(self.content)
        config = self.state.document.settings.env.config
        out = io.StringIO()
        cwd = os.getcwd()
        try:
            if config.plot_working_directory:
                os.chdir(config.plot_working_directory)
            with contextlib.redirect_stdout(out):
                exec(compile(code, self.state.document.current_source, "exec"), plot_directive.plot_context)
        except Exception as exc:  # the page must not silently lose its output
            raise self.error(f"plot-output code failed: {type(exc).__name__}: {exc}") from exc
        finally:
            os.chdir(cwd)
        source = nodes.literal_block(code, code, language="python")
        printed = out.getvalue().rstrip("\n") or "(no output)"
        result = nodes.literal_block(printed, printed, language="text", classes=["plot-output"])
        return [source, result]


def setup(app):
    app.add_directive("plot-output", PlotOutput)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
