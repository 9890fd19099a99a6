package dev.ember.bench;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * A markdown table printed as it grows, one row at a time, with columns of at least ten
 * characters (the first, a label, aligned left, the figures right), so that rows printed minutes apart still line up and the whole can be
 * pasted into a note.
 */
final class MarkdownTable {

    private final PrintStream out;
    private final int columns;

    /** Prints the header and the separator line to standard output. */
    MarkdownTable(List<String> headers) {
        this(headers, System.out);
    }

    MarkdownTable(List<String> headers, PrintStream out) {
        this.out = out;
        this.columns = headers.size();
        print(headers);
        List<String> rule = new java.util.ArrayList<>();
        for (int i = 0; i < columns; i++) {
            int width = Math.max(10, headers.get(i).length());
            rule.add(i == 0 ? ":" + "-".repeat(width - 1) : "-".repeat(width - 1) + ":");
        }
        print(rule);
    }

    /** Prints one row; it must have as many cells as the header. */
    void row(List<String> cells) {
        if (cells.size() != columns) {
            throw new IllegalArgumentException("a row of " + cells.size() + " cells in a table of " + columns + " columns");
        }
        print(cells);
    }

    private void print(List<String> cells) {
        StringBuilder line = new StringBuilder("|");
        for (int i = 0; i < cells.size(); i++) {
            line.append(' ').append(String.format(Locale.ROOT, i == 0 ? "%-10s" : "%10s", cells.get(i))).append(" |");
        }
        out.println(line);
        out.flush();
    }
}
