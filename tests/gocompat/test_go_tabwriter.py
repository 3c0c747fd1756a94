"""text/tabwriter aligns columns as Go's does, per column block, with the callers' settings."""

from __future__ import annotations

from shoal.gocompat.tabwriter import (
    ALIGN_RIGHT,
    DEBUG,
    DISCARD_EMPTY_COLUMNS,
    FLEETCTL,
    URFAVE_HELP,
    Writer,
    format_rows,
)


def test_fleetctl_pads_with_tabs_to_multiples_of_eight() -> None:
    rows = [["MACHINE", "IP", "METADATA"], ["87799244...", "192.168.0.30", "cabinet=one"]]
    assert (
        format_rows(rows) == "MACHINE\t\tIP\t\tMETADATA\n87799244...\t192.168.0.30\tcabinet=one\n"
    )


def test_the_last_cell_does_not_widen_its_column() -> None:
    text = "a\tb\nlonger text here\n"
    assert FLEETCTL.format(text) == "a\tb\nlonger text here\n"


def test_spaces_with_padding_two_like_urfave_help() -> None:
    text = "   get\tretrieve\n   cluster-health\tcheck\n"
    assert URFAVE_HELP.format(text) == ("   get             retrieve\n   cluster-health  check\n")


def test_a_line_without_the_column_ends_the_block() -> None:
    text = "aaaaaa\tx\nSECTION\nb\ty\n"
    assert Writer(padding=1).format(text) == "aaaaaa x\nSECTION\nb y\n"


def test_blocks_nest_per_column() -> None:
    # Column 1 exists on lines 1-2 only: its width comes from those lines alone.
    text = "a\tbbbb\tc\nd\te\tf\ng\th\n"
    assert Writer(padding=1).format(text) == "a bbbb c\nd e    f\ng h\n"


def test_minwidth_and_align_right() -> None:
    assert Writer(minwidth=5, padding=0).format("ab\tc\n") == "ab   c\n"
    assert Writer(padding=1, flags=ALIGN_RIGHT).format("ab\tc\nabcd\te\n") == "   abc\n abcde\n"


def test_debug_marks_column_breaks() -> None:
    assert Writer(padding=1, flags=DEBUG).format("a\tb\tc\n") == "a |b |c\n"


def test_discard_empty_columns_drops_soft_empty_cells_only() -> None:
    w = Writer(padding=1, flags=DISCARD_EMPTY_COLUMNS)
    assert w.format("a\v\vb\n") == "a b\n"
    assert w.format("a\t\tb\n") == "a  b\n"


def test_text_after_the_last_newline_is_flushed_as_is() -> None:
    assert Writer(padding=1).format("a\tb\nc\td") == "a b\nc d"


def test_width_counts_characters_not_bytes() -> None:
    assert Writer(padding=1).format("é\tx\nab\ty\n") == "é  x\nab y\n"
