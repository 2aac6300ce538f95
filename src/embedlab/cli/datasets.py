"""``embedlab datasets list|info|download``."""

from __future__ import annotations

import typer

from embedlab.cli.common import console

app = typer.Typer(help="Built-in data sets: list, describe, download (cached, checksummed).", no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """List the built-in data sets."""
    from rich.table import Table

    from embedlab.data import list_datasets

    t = Table(title="built-in datasets")
    for col in ("name", "classes", "splits", "protocol"):
        t.add_column(col)
    for info in list_datasets():
        t.add_row(info.name, str(len(info.classes)), ", ".join(info.splits), info.protocol)
    console.print(t)


@app.command()
def info(name: str) -> None:
    """Show a data set's classes, files, checksums, protocol and licence."""
    from rich.table import Table

    from embedlab.data import dataset_info

    i = dataset_info(name)
    console.print(f"[bold]{i.name}[/]: {i.description}")
    console.print(f"classes: {', '.join(i.classes)}")
    console.print(f"splits: {', '.join(i.splits)} — protocol: {i.protocol}")
    console.print(f"format: {i.format}, encoding: {i.encoding}")
    t = Table()
    for col in ("split", "file", "sha256", "url"):
        t.add_column(col, overflow="fold")
    for split, files in i.files.items():
        for f in files:
            t.add_row(split, f.name, (f.sha256[:16] + "…" if f.sha256 else "(none)"), f.url or "(shipped in the package)")
    console.print(t)
    if i.citation:
        console.print(f"citation: {i.citation}")
    if i.licence:
        console.print(f"licence: {i.licence}")


@app.command()
def download(name: str) -> None:
    """Download a data set into the cache (or check the local mirror) and verify checksums."""
    from embedlab.data import download as _download

    for p in _download(name):
        console.print(f"ok {p}")
