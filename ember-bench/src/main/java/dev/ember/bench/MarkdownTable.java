package dev.ember.bench;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * A markdown table printed as it grows, one row at a time, with right-aligned columns of at
 * least ten characters, so that rows printed minutes apart still line up and the whole can be
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
        print(headers.stream().map(h -> "-".repeat(Math.max(10, h.length()) - 1) + ":").toList());
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
        for (String c : cells) {
            line.append(' ').append(String.format(Locale.ROOT, "%10s", c)).append(" |");
        }
        out.println(line);
        out.flush();
    }
}
