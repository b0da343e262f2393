"""``luna deploy``: secrets for the shared stack, and a dedicated stack per customer."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import typer

from luna_cli.common import console, one_line_errors

deploy_app = typer.Typer(help="Docker Compose stacks (shared, or one per customer).", no_args_is_help=True)


@deploy_app.command("secrets")
@one_line_errors
def secrets_command(
    directory: Path = typer.Option(Path("secrets"), "--dir", help="Where the secret files go (mode 600)."),
) -> None:
    """Generate the shared stack's secrets (existing files are kept)."""
    from luna_cli.stack import generate_secrets

    files = generate_secrets(directory)
    console.print(f"{len(files)} secret files in {directory} (folder 700, files 600); back them up safely")


@deploy_app.command("tenant")
@one_line_errors
def tenant_command(
    name: str = typer.Argument(..., help="Tenant id; the stack is the compose project luna-<name>."),
    out: Path = typer.Option(Path("tenants"), "--out", help="Folder holding rendered tenant stacks."),
    port_base: int | None = typer.Option(None, "--port-base", help="First of the stack's published ports."),
    profile: str = typer.Option("prod", "--profile", help="Compose profile: prod or local."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Render and print the command; do not run it."),
) -> None:
    """Render a dedicated stack for one customer (own project, network, volumes, secrets) and start it."""
    from luna_cli.stack import render_tenant_stack

    if profile not in ("prod", "local"):
        raise ValueError("--profile must be prod or local")
    stack = render_tenant_stack(name, out, port_base)
    command = stack.command(profile)
    console.print(f"rendered {stack.compose_file} (secrets in {stack.secrets_dir})")
    for variable, port in stack.ports.items():
        console.print(f"  {variable.removeprefix('LUNA_').removesuffix('_PORT_PUBLISHED').lower()}: 127.0.0.1:{port}")
    typer.echo(shlex.join(command))
    if dry_run:
        return
    if shutil.which("docker") is None:
        raise ValueError("docker is not installed here: run the printed command on the Docker host")
    completed = subprocess.run(command)
    if completed.returncode != 0:
        raise ValueError(f"docker compose exited with {completed.returncode}")
