"""``pcs generate --out DIR --partners N [--months 24] [--start 2023-01] [--seed 0]
[--format csv|parquet] [--overwrite]``: write a synthetic data folder
(``pcs.generate.generate``), printing progress as it goes."""

from __future__ import annotations

import argparse
import logging
import sys

from pcs.generate import generate

LOG = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="data folder to write")
    parser.add_argument("--partners", required=True, type=int, metavar="N", help="listed partners")
    parser.add_argument("--months", type=int, default=24, help="months of snapshots (default 24)")
    parser.add_argument("--start", default="2023-01", metavar="YYYY-MM", help="first month (default 2023-01)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=("csv", "parquet"),
        default="csv",
        help="format of the month files (default csv)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace the data files of a non-empty --out")


def run(args: argparse.Namespace) -> int:
    try:
        s = generate(
            args.out,
            partners=args.partners,
            months=args.months,
            start=args.start,
            seed=args.seed,
            fmt=args.fmt,
            progress=LOG.info,
            overwrite=args.overwrite,
        )
    except FileExistsError:
        print(
            f"pcs generate: {args.out} is not empty (pass --overwrite to replace its data files)",
            file=sys.stderr,
        )
        return 2
    except (ValueError, NotADirectoryError) as exc:
        print(f"pcs generate: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {s.out_dir}: {s.partners} partners (+{s.unlisted_partners} unlisted), "
        f"{s.tenants} tenants, {s.months} months ({s.fmt}), {s.usage_rows} usage rows, "
        f"{s.association_rows} association rows, {s.certification_rows} certifications, "
        f"{s.bytes_written / 1e6:.0f} MB in {s.seconds:.1f}s"
    )
    return 0
