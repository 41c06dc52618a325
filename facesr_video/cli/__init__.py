"""The facesr-video command line: one module per command, no logic here.

`main` is the console-script entry point: it runs the Typer app and turns a FacesrError into one
line on stderr and a non-zero exit code; the traceback only appears with --verbose. Ctrl-C,
SIGTERM and SIGHUP end a run through the same cleanup, with one line and exit code 128 + signal
(130, 143, 129).
"""

from __future__ import annotations

import sys

import typer

from facesr_video import __version__
from facesr_video.cli.signals import Received, signals_as_interrupts
from facesr_video.cli.state import cli_state
from facesr_video.errors import FacesrError, disk_full

app = typer.Typer(
    name="facesr-video",
    help="Super-resolve the faces in a video by x2, x4 or x8, guided by a 3D face model.",
    epilog="Exit codes: 0 done; 2 error (one line on stderr); 130, 143, 129 stopped by Ctrl-C, "
    "SIGTERM, SIGHUP (same cleanup: no half-written output left).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"facesr-video {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="More detail; full tracebacks."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or summaries."),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
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
    with signals_as_interrupts() as received:
        try:
            code = app(args=argv, standalone_mode=False)
        except FacesrError as error:
            return _one_line(error)
        except OSError as error:
            full = disk_full(error)
            if full is None:
                raise
            return _one_line(full)
        except KeyboardInterrupt:  # typer turns most into exit code 130; this is the rest
            return _interrupted(received)
        except SystemExit as exit_:
            return int(exit_.code or 0)
        except Exception as error:  # usage errors (typer vendors its own click) come here too
            if isinstance(error, _usage_error_type()):
                error.show()
                return error.exit_code
            raise
    if code == 130:  # typer's exit code for a KeyboardInterrupt
        return _interrupted(received)
    return code if isinstance(code, int) else 0


def _one_line(error: FacesrError) -> int:
    """Print a known error as one line (the traceback too under --verbose); its exit code."""
    if cli_state.verbose:
        import traceback

        traceback.print_exc()
    print(f"error: {error.one_line()}", file=sys.stderr)
    return error.exit_code


def _interrupted(received: Received) -> int:
    """The one line for a run ended by Ctrl-C or a signal; its exit code (128 + signal)."""
    print(
        f"error: {received.what} (no half-written output is left; extract-priors and "
        "train --resume continue from what was saved)",
        file=sys.stderr,
    )
    return received.exit_code


if __name__ == "__main__":
    sys.exit(main())
