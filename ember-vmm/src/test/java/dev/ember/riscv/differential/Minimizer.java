package dev.ember.riscv.differential;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Shrinks a failing program to a small one that still fails: delta debugging (Zeller's
 * {@code ddmin}) over the main item list, then inside every loop, S- or U-mode stretch and
 * subroutine, unwrapping loops and S- or U-mode stretches into their bodies and running loops once, until
 * nothing more can go. Items are position-independent ({@link Item}), so every candidate links.
 *
 * <p>Bounded: at most {@link #MAX_TRIALS} runs of the predicate.
 */
final class Minimizer {

    static final int MAX_TRIALS = 4000;

    private final Predicate<Program> fails;
    private int trials;

    private Minimizer(Predicate<Program> fails) {
        this.fails = fails;
    }

    /** {@return a program no larger than {@code program} for which {@code fails} still holds} */
    static Program minimize(Program program, Predicate<Program> fails) {
        return new Minimizer(fails).run(program);
    }

    private boolean fails(Program p) {
        if (trials >= MAX_TRIALS) {
            return false;
        }
        trials++;
        try {
            return fails.test(p);
        } catch (RuntimeException e) {
            return false;   // e.g. a generator bug that only shows without some item: not this failure
        }
    }

    private Program run(Program p) {
        while (true) {
            int before = p.count();
            final Program start = p;
            Program current = start.with(ddmin(start.main(), main -> start.with(main, start.subs())), start.subs());
            current = nested(current);
            current = subroutines(current);
            current = dropUnusedSubroutines(current);
            p = current;
            if (p.count() >= before || trials >= MAX_TRIALS) {
                return p;
            }
        }
    }

    /** Shrinks each loop and S- or U-mode stretch of the main list: its body, its iterations, or the wrapper itself. */
    private Program nested(Program p) {
        List<Item> main = new ArrayList<>(p.main());
        for (int k = 0; k < main.size(); k++) {
            Item item = main.get(k);
            final int at = k;
            Program current = p.with(main, p.subs());
            Function<Item, Program> placed = replacement -> {
                List<Item> m = new ArrayList<>(current.main());
                m.set(at, replacement);
                return current.with(m, current.subs());
            };
            switch (item) {
                case Item.Loop loop -> {
                    List<Item> unwrapped = new ArrayList<>(main.subList(0, k));
                    unwrapped.addAll(loop.body());
                    unwrapped.addAll(main.subList(k + 1, main.size()));
                    if (fails(current.with(unwrapped, current.subs()))) {
                        main = unwrapped;
                        k--;
                        continue;
                    }
                    Item.Loop once = new Item.Loop(1, loop.body());
                    if (loop.iterations() > 1 && fails(placed.apply(once))) {
                        loop = once;
                    }
                    final int iterations = loop.iterations();
                    List<Item> body = ddmin(loop.body(), b -> placed.apply(new Item.Loop(iterations, b)));
                    main.set(k, new Item.Loop(iterations, body));
                }
                case Item.Lower s -> {
                    // In M-mode, the body may still fail the same way, or not end (then it does not count).
                    List<Item> unwrapped = new ArrayList<>(main.subList(0, k));
                    unwrapped.addAll(s.body());
                    unwrapped.addAll(main.subList(k + 1, main.size()));
                    if (fails(current.with(unwrapped, current.subs()))) {
                        main = unwrapped;
                        k--;
                        continue;
                    }
                    List<Item> body = ddmin(s.body(), b -> placed.apply(s.withBody(b)));
                    Item.Lower smaller = s.withBody(body);
                    main.set(k, smaller);
                    // Loops inside the stretch: shrink their bodies too.
                    for (int j = 0; j < body.size(); j++) {
                        if (body.get(j) instanceof Item.Loop loop) {
                            final int in = j;
                            final Item.Lower outer = smaller;
                            List<Item> inner = ddmin(loop.body(), b -> {
                                List<Item> sb = new ArrayList<>(outer.body());
                                sb.set(in, new Item.Loop(loop.iterations(), b));
                                return placed.apply(outer.withBody(sb));
                            });
                            List<Item> sb = new ArrayList<>(smaller.body());
                            sb.set(j, new Item.Loop(loop.iterations(), inner));
                            smaller = s.withBody(sb);
                            main.set(k, smaller);
                        }
                    }
                }
                default -> { }
            }
        }
        return p.with(main, p.subs());
    }

    private Program subroutines(Program p) {
        List<Item.Sub> subs = new ArrayList<>(p.subs());
        for (int k = 0; k < subs.size(); k++) {
            final int at = k;
            final List<Item.Sub> current = List.copyOf(subs);
            Item.Sub sub = subs.get(k);
            List<Item> body = ddmin(sub.body(), b -> {
                List<Item.Sub> s = new ArrayList<>(current);
                s.set(at, new Item.Sub(b, sub.compressedReturn()));
                return p.with(p.main(), s);
            });
            subs.set(k, new Item.Sub(body, sub.compressedReturn()));
        }
        return p.with(p.main(), subs);
    }

    /** Subroutines no call names any more are emptied, so they print as a bare return. */
    private static Program dropUnusedSubroutines(Program p) {
        boolean[] used = new boolean[p.subs().size()];
        markCalls(p.main(), used);
        List<Item.Sub> subs = new ArrayList<>();
        for (int k = 0; k < used.length; k++) {
            subs.add(used[k] ? p.subs().get(k) : new Item.Sub(List.of(), p.subs().get(k).compressedReturn()));
        }
        return p.with(p.main(), subs);
    }

    private static void markCalls(List<Item> items, boolean[] used) {
        for (Item i : items) {
            switch (i) {
                case Item.Call c -> used[c.sub()] = true;
                case Item.Loop l -> markCalls(l.body(), used);
                case Item.Lower s -> markCalls(s.body(), used);
                default -> { }
            }
        }
    }

    /**
     * Zeller's ddmin over {@code items}: removes ever smaller chunks while the program built
     * from what is left still fails.
     */
    private List<Item> ddmin(List<Item> items, Function<List<Item>, Program> build) {
        if (items.isEmpty()) {
            return items;
        }
        if (fails(build.apply(List.of()))) {
            return List.of();
        }
        List<Item> current = items;
        int n = 2;
        while (current.size() >= 2) {
            int chunk = (current.size() + n - 1) / n;
            boolean reduced = false;
            for (int start = 0; start < current.size(); start += chunk) {
                List<Item> complement = new ArrayList<>(current.subList(0, start));
                complement.addAll(current.subList(Math.min(current.size(), start + chunk), current.size()));
                if (fails(build.apply(complement))) {
                    current = complement;
                    n = Math.max(n - 1, 2);
                    reduced = true;
                    break;
                }
            }
            if (!reduced) {
                if (n >= current.size()) {
                    break;
                }
                n = Math.min(current.size(), 2 * n);
            }
        }
        return current;
    }
}
