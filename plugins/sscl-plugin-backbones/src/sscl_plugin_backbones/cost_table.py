"""Parameters and MACs of every backbone with a linear head, as rows for the README's cost table.

Run ``python -m sscl_plugin_backbones.cost_table`` to print the measured columns (32x32x3, 10 classes).
The numbers come from the core's ``sscl_core.cost.backbone_costs``, as ``sscl describe backbone`` shows them.
"""

from __future__ import annotations

from sscl_core.run.cost import backbone_costs, format_macs
from sscl_plugin_backbones.catalog import BACKBONES

TABLE_SHAPE: tuple[int, int, int] = (3, 32, 32)
"""The input shape of the README table."""

TABLE_CLASSES = 10
"""The head size of the README table."""


def measured_rows(
    input_shape: tuple[int, int, int] = TABLE_SHAPE, num_classes: int = TABLE_CLASSES
) -> list[dict[str, object]]:
    """One row per backbone: name, parameters and MACs (with the head), features and minimum image size."""
    rows = []
    for backbone in BACKBONES:
        (measured,) = backbone_costs(backbone(), [input_shape], num_classes)
        rows.append({"name": backbone.name, **measured, "min_size": backbone.min_size})
    return rows


def main() -> None:
    """Print the measured columns as Markdown."""
    print("| name | parameters | MACs | features | min size |")
    print("|---|---|---|---|---|")
    for row in measured_rows():
        print(
            f"| `{row['name']}` | {row['parameters']:,} | {format_macs(int(row['macs']))} "
            f"| {row['out_features']} | {row['min_size']} px |"
        )


if __name__ == "__main__":
    main()
