"""The detail tree of the selected record: fields with byte spans, problems, links."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from dissectors.api import Direction, Field, Problem, Severity
from sniffer.capture import Capture

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}


def problem_text(problems: tuple[Problem, ...]) -> Text:
    """Every problem in full, one per line, coloured by severity (wraps, unlike tree labels)."""
    text = Text()
    for number, problem in enumerate(problems):
        if number:
            text.append("\n")
        text.append(f"{problem.severity.value}: ", SEVERITY_STYLE[problem.severity])
        text.append(problem.code, "bold")
        text.append(f" {problem.text}")
    return text


class FieldTree(Tree[tuple[int, int] | int | None]):
    """Shows one record. Node data: a byte span (highlight it), or a record number (jump)."""

    DEFAULT_CSS = """
    FieldTree { width: 1fr; }
    """

    class SpanHighlighted(Message):
        """The user moved onto a field; ``span`` is its byte range (None: clear)."""

        def __init__(self, span: tuple[int, int] | None) -> None:
            super().__init__()
            self.span = span

    class JumpRequested(Message):
        """The user chose a request/response link node."""

        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("(no message)", id=id)
        self.show_root = True
        self.guide_depth = 2
        self.index: int | None = None
        """The capture row shown."""

    def show(self, capture: Capture, index: int | None) -> None:
        """Rebuild the tree for capture row ``index``."""
        self.index = index
        self.clear()
        if index is None:
            self.root.set_label("(no message)")
            return
        row = capture.row(index)
        dissection = capture.dissection(index)
        kind = "junk" if row.is_junk else row.protocol
        self.root.set_label(Text(f"#{row.number} {kind} {row.type} · {row.length} bytes"))
        self.root.data = (0, row.length)
        seconds = (row.time_ns - capture.first_time_ns) / 1e9
        who = "host → device" if row.direction is Direction.TO_DEVICE else "device → host"
        frame = self.root.add(f"Frame: {row.link.name} · {who} · {seconds:.6f} s", expand=False)
        frame.add_leaf(f"link: {row.link.id} {row.link.name}")
        frame.add_leaf(f"direction: {row.direction.name} ({who})")
        frame.add_leaf(f"time: {seconds:.9f} s since the first message ({row.time_ns} ns)")
        frame.add_leaf(f"stream offset: {capture.item(index).start}")
        reason = capture.junk_reason(index)
        if reason:
            frame.add_leaf(f"skipped because: {reason}")
        for field in dissection.fields:
            self._add_field(self.root, field)
        problems = capture.problems(index)
        if problems:
            node = self.root.add("Problems", expand=True)
            for problem in problems:
                label = Text.assemble(
                    (f"{problem.severity.value}: ", SEVERITY_STYLE[problem.severity]),
                    (problem.code, "bold"),
                    f" {problem.text}",
                )
                node.add_leaf(label)
        links = self._links(capture, index)
        if links:
            node = self.root.add("Transaction", expand=True)
            for text, number in links:
                node.add_leaf(text, data=number)
        self.root.expand()

    @staticmethod
    def _links(capture: Capture, index: int) -> list[tuple[str, int]]:
        links: list[tuple[str, int]] = []
        response = capture.response_in(index)
        if response is not None:
            links.append((f"Response in #{response}  (press r)", response))
        request = capture.request_in(index)
        if request is not None:
            latency = capture.latency_ns(index)
            suffix = f", latency {latency / 1e6:.3f} ms" if latency is not None else ""
            links.append((f"Request in #{request}{suffix}  (press r)", request))
        return links

    def _add_field(self, parent: TreeNode[tuple[int, int] | int | None], field: Field) -> None:
        start, end = field.span
        label = Text.assemble((field.name, "bold"), ": ", field.text, (f"  [{start}:{end}]", "dim"))
        if field.children:
            node = parent.add(label, data=field.span, expand=True)
            for child in field.children:
                self._add_field(node, child)
        else:
            parent.add_leaf(label, data=field.span)

    def on_tree_node_highlighted(
        self, event: Tree.NodeHighlighted[tuple[int, int] | int | None]
    ) -> None:
        event.stop()
        data = event.node.data
        self.post_message(self.SpanHighlighted(data if isinstance(data, tuple) else None))

    def on_tree_node_selected(self, event: Tree.NodeSelected[tuple[int, int] | int | None]) -> None:
        event.stop()
        data = event.node.data
        if isinstance(data, int):
            self.post_message(self.JumpRequested(data))
