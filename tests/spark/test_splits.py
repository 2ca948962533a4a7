"""The split arithmetic of csv2ddb_core.spark.splits, on bytes: no Spark, no emulator."""

from __future__ import annotations

import io

from csv2ddb_core.spark.splits import (
    BROKEN,
    QUOTED,
    START,
    Split,
    count_lines,
    entry_states,
    line_end_offset,
    nominal_starts,
    split_count,
    split_records,
    splittable,
    transition,
    whole_waves,
)


def text(data: bytes) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape", newline="")


def test_transitions_from_both_entry_states() -> None:
    plain = b"a,b\nc,d\n"
    assert transition(text(plain), ",", START, last=False) == START
    assert transition(text(plain), ",", QUOTED, last=False) == QUOTED  # no quote closes it
    closes = b'",x\nc,d\n'  # the end of a quoted field that began in an earlier split
    assert transition(text(closes), ",", QUOTED, last=False) == START
    assert transition(text(closes), ",", START, last=False) == QUOTED  # from START the quote opens
    stray = b"5'10\",x\nc,d\n"  # a quote inside an unquoted field is a character, not a toggle
    assert transition(text(stray), ",", START, last=False) == START
    assert transition(text(b'"open\n'), ",", START, last=True) == BROKEN  # unbalanced at the end
    assert transition(text(b'"a"b,c\n'), ",", START, last=False) == BROKEN  # strict mode refuses


def test_entry_states_compose_in_file_order_and_stop_at_a_broken_split() -> None:
    assert entry_states([(QUOTED, START), (START, QUOTED), (START, START)]) == [START, QUOTED, QUOTED]
    assert entry_states([(BROKEN, BROKEN), (START, START)]) == [START, BROKEN]


def test_lines_and_offsets_count_lf_crlf_and_lone_cr() -> None:
    assert count_lines(b"a\r\nb\rc\n", at_end_of_object=False) == 3
    assert count_lines(b"a\nb", at_end_of_object=True) == 2
    assert line_end_offset([b"h1,h2\r", b"\nx\n"], 1) == 7  # \r\n split across chunks
    assert line_end_offset([b"h\rx\n"], 1) == 2  # a lone \r ends the header line


def test_split_records_numbers_lines_globally_and_drops_an_earlier_record() -> None:
    split = Split(1, 0, 0, first_line=10, last_line=12, entry=QUOTED)
    got = list(split_records(text(b'x"\nk1,"a\nb"\nk2,c\n'), ",", split))
    assert got == [(11, ["k1", "a\nb"])]  # line 13 starts after last_line: the next split's


def test_split_sizes() -> None:
    assert split_count(10, parallelism=2, max_split_bytes=100, min_split_bytes=50) == 1
    assert split_count(1000, parallelism=2, max_split_bytes=100, min_split_bytes=50) == 10
    assert split_count(300, parallelism=4, max_split_bytes=1000, min_split_bytes=50) == 4  # not 6: 75 B


def test_split_count_runs_in_whole_waves_of_the_task_slots() -> None:
    """More splits than slots: a multiple of the slots, so no last wave runs with slots idle (the
    5.7 M-row bench file, 542 MB in splits of at most 128 MB: 5 on one core, 6 on two, not 5)."""
    mb = 1 << 20
    big = 541_720_000
    assert split_count(big, parallelism=1, max_split_bytes=128 * mb, min_split_bytes=mb) == 5
    assert split_count(big, parallelism=2, max_split_bytes=128 * mb, min_split_bytes=mb) == 6
    assert split_count(big, parallelism=3, max_split_bytes=128 * mb, min_split_bytes=mb) == 6
    assert split_count(big, parallelism=4, max_split_bytes=128 * mb, min_split_bytes=mb) == 8
    for slots in range(1, 40):  # e.g. Glue: workers x executor cores
        for size in (1, 3 * mb, 100 * mb, 541_720_000, 10 << 30):
            count = split_count(size, slots, 128 * mb, mb)
            assert count <= slots or count % slots == 0, (slots, size, count)
            assert -(-size // count) <= 128 * mb  # never a split above the largest size


def test_whole_waves_rounds_up_unless_splits_would_fall_below_the_smallest_size() -> None:
    assert whole_waves(5, slots=2, data_bytes=500, fewest=5, min_split_bytes=1) == 6
    assert whole_waves(2, slots=4, data_bytes=500, fewest=1, min_split_bytes=1) == 2  # one wave
    assert whole_waves(8, slots=4, data_bytes=500, fewest=1, min_split_bytes=1) == 8  # already whole
    assert whole_waves(3, slots=2, data_bytes=300, fewest=1, min_split_bytes=100) == 2  # 4 x 75 B: no
    assert whole_waves(3, slots=2, data_bytes=300, fewest=3, min_split_bytes=100) == 3  # the max size wins
    assert nominal_starts(10, 110, 4) == [10, 35, 60, 85]
    assert splittable("utf-8", ",")
    assert splittable("latin-1", ";")
    assert not splittable("utf-16", ",")
    assert not splittable("no-such-codec", ",")
