"""The README's cost table shows what the plugin measures."""

from pathlib import Path

from sscl_core.run.cost import format_macs
from sscl_plugin_backbones.catalog import BACKBONES
from sscl_plugin_backbones.cost_table import measured_rows

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_cost_rows() -> dict[str, list[str]]:
    """Cells of the cost table's rows by backbone name."""
    text = README.read_text().split("## Cost at 32x32x3", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
    return rows


def test_readme_cost_table_matches_measurement():
    documented = readme_cost_rows()
    assert list(documented) == [backbone.name for backbone in BACKBONES]
    for row in measured_rows():
        cells = documented[row["name"]]
        assert cells[1] == f"{row['parameters']:,}", row["name"]
        assert cells[3] == format_macs(row["macs"]), row["name"]
        assert cells[4] == str(row["out_features"]), row["name"]
        assert cells[5] == f"{row['min_size']} px", row["name"]
