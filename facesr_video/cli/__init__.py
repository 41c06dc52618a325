"""The facesr-video command line: one module per command, no logic here.

`main` is the console-script entry point: it runs the Typer app and turns a FacesrError into one
line on stderr and a non-zero exit code; the traceback only appears with --verbose.
"""

from __future__ import annotations

import sys

import typer

from facesr_video.cli.state import cli_state
from facesr_video.errors import FacesrError

app = typer.Typer(
    name="facesr-video",
    help="Super-resolve the faces in a video by x4 or x8, guided by a 3D face model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="More detail; full tracebacks."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or summaries."),
) -> None:
    cli_state.verbose = verbose
    cli_state.quiet = quiet


# Commands register themselves on `app` when their module is imported.
from facesr_video.cli import enhance as _enhance  # noqa: E402,F401
from facesr_video.cli import evaluate as _evaluate  # noqa: E402,F401
from facesr_video.cli import extract_priors as _extract_priors  # noqa: E402,F401
from facesr_video.cli import models as _models  # noqa: E402,F401
from facesr_video.cli import train as _train  # noqa: E402,F401


def _usage_error_type() -> type[Exception]:
    """ClickException of the click that typer uses (recent typer vendors its own copy)."""
    try:
        from typer._click.exceptions import ClickException
    except ImportError:  # older typer uses the click package
        from click.exceptions import ClickException
    return ClickException


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; known errors become one line and exit code 2."""
    try:
        app(args=argv, standalone_mode=False)
    except FacesrError as error:
        if cli_state.verbose:
            import traceback

            traceback.print_exc()
        print(f"error: {error.one_line()}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(
            "error: interrupted (no half-written output is left; extract-priors and "
            "train --resume continue from what was saved)",
            file=sys.stderr,
        )
        return 130
    except SystemExit as exit_:  # typer.Exit inside a command
        return int(exit_.code or 0)
    except Exception as error:  # usage errors (typer vendors its own click) come here too
        if isinstance(error, _usage_error_type()):
            error.show()
            return error.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
