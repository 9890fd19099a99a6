#!/usr/bin/env bash
# Regenerates vectors.txt, the GNU toolchain's opinion of every 16-bit RVC encoding, which
# RvcTest replays against Rvc.expand.
#
# 1. Every halfword whose bits [1:0] != 11 (49152 of them) goes through `as -march=rv64gc` as
#    `.insn 0xNNNN` (an instruction, so objdump disassembles it instead of dumping data).
# 2. `objdump -d -M no-aliases` names each one: c.addi, c.lwsp, ... or `.2byte` when binutils
#    knows no instruction there (c.unimp, the all-zero halfword, is treated the same way).
# 3. Each named c.X is rewritten as the base instruction the "C" chapter says it expands to
#    (c.mv rd,rs2 -> add rd,zero,rs2; c.beqz rs1,T -> beq rs1,zero,.+(T-pc); ...) and assembled
#    again with `-march=rv64g`, which has no C, so `as` must emit the 32-bit word.
#
# Output, one line per halfword in ascending order:
#   hhhh wwwwwwww <objdump text>   a legal encoding and its expected 32-bit expansion
#   hhhh illegal  <objdump text>   binutils decodes no instruction here
# Branch and jump targets in the text are shown relative to the instruction (.+N), not as
# objdump's absolute addresses.
#
# Needs binutils-riscv64-linux-gnu (Debian); run from anywhere: ember-vmm/src/test/resources/rvc/gen.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/vectors.txt"
T=riscv64-linux-gnu
for tool in as objdump; do
    command -v "$T-$tool" >/dev/null || { echo "gen.sh: $T-$tool not found; apt-get install binutils-riscv64-linux-gnu" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

awk 'BEGIN { print ".text"; for (h = 0; h < 65536; h++) if (h % 4 != 3) printf ".insn 0x%04x\n", h }' > "$work/c.s"
"$T-as" -march=rv64gc -mno-relax -o "$work/c.o" "$work/c.s"
"$T-objdump" -d -M no-aliases "$work/c.o" > "$work/c.dis"

# c.dis -> cinfo (hw, legal?, text) for every halfword, and base.s with one base instruction per legal one.
awk -v base="$work/base.s" -v info="$work/cinfo" '
function hex(s,    i, n, c) {
    n = 0; s = tolower(s); sub(/^0x/, "", s)
    for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)); n = n * 16 + c - 1 }
    return n
}
function rel(target, pc,    off) { off = hex(target) - hex(pc); return off < 0 ? "." off : ".+" off }
BEGIN { print ".text\n.option norvc" > base }
/^ +[0-9a-f]+:\t[0-9a-f][0-9a-f][0-9a-f][0-9a-f] / {
    n = split($0, f, "\t"); pc = f[1]; sub(/^ +/, "", pc); sub(/:$/, "", pc)
    hw = f[2]; sub(/ +$/, "", hw); m = f[3]; ops = (n >= 4) ? f[4] : ""
    text = m (ops == "" ? "" : " " ops)
    split(ops, o, ","); name = substr(m, 3); b = ""
    if (m == ".2byte" || m == "c.unimp")                                  b = ""
    else if (m == "c.addi4spn")                                           b = "addi " ops
    else if (m ~ /^c\.f?(l|s)[wd](sp)?$/)                                 { sub(/sp$/, "", name); b = name " " ops }
    else if (m ~ /^c\.(addiw?|andi|s[lr]li|srai|sub|xor|or|and|subw|addw|add)$/) b = name " " o[1] "," o[1] "," o[2]
    else if (m == "c.addi16sp")                                           b = "addi " o[1] "," o[1] "," o[2]
    else if (m == "c.nop")                                                b = "addi zero,zero," (ops == "" ? 0 : ops)
    else if (m == "c.li")                                                 b = "addi " o[1] ",zero," o[2]
    else if (m == "c.lui")                                                b = "lui " ops
    else if (m ~ /^c\.s(ll|rl|ra)i64$/)                                   b = substr(name, 1, 4) " " ops "," ops ",0"
    else if (m == "c.mv")                                                 b = "add " o[1] ",zero," o[2]
    else if (m == "c.jr")                                                 b = "jalr zero,0(" ops ")"
    else if (m == "c.jalr")                                               b = "jalr ra,0(" ops ")"
    else if (m == "c.ebreak")                                             b = "ebreak"
    else if (m == "c.j")                                                  { split(ops, t, " "); r = rel(t[1], pc); b = "jal zero," r; text = m " " r }
    else if (m == "c.beqz" || m == "c.bnez")                              { split(o[2], t, " "); r = rel(t[1], pc); b = "b" substr(name, 2, 2) " " o[1] ",zero," r; text = m " " o[1] "," r }
    else { print "gen.sh: no expansion rule for: " $0 > "/dev/stderr"; exit 1 }
    if (b == "") { print hw "\tI\t" text > info } else { print hw "\tL\t" text > info; print b > base }
}' "$work/c.dis"

"$T-as" -march=rv64g -mno-relax -o "$work/base.o" "$work/base.s"
"$T-objdump" -d -M no-aliases "$work/base.o" \
    | awk -F'\t' '/^ +[0-9a-f]+:\t[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f] / { w = $2; sub(/ +$/, "", w); print w }' > "$work/words"

legal=$(grep -c $'\tL\t' "$work/cinfo")
words=$(wc -l < "$work/words")
total=$(wc -l < "$work/cinfo")
[ "$legal" -eq "$words" ] || { echo "gen.sh: $legal legal halfwords but $words expansions" >&2; exit 1; }
[ "$total" -eq 49152 ] || { echo "gen.sh: objdump printed $total halfwords, expected 49152" >&2; exit 1; }

{
    echo "# Generated by gen.sh with $("$T-as" --version | head -1); do not edit."
    echo "# halfword  expected 32-bit word or 'illegal'  objdump -d -M no-aliases of the halfword"
    awk -F'\t' -v words="$work/words" '
        $2 == "L" { getline w < words; printf "%s %s %s\n", $1, w, $3 }
        $2 == "I" { printf "%s illegal %s\n", $1, $3 }' "$work/cinfo"
} > "$out"
echo "gen.sh: wrote $out ($legal legal, $((total - legal)) illegal)"
