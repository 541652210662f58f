# `make help`: every target that has a `## text` help line, by group.
# A `##@ Name` line puts the targets after it, in its file, into group Name.
# Groups print in the order of -v groups="A B ...", any other group after
# them (a target before any `##@` line is in "Other"); -v color=1 colours.
BEGIN {
    n = split(groups, order, " ")
    for (i = 1; i <= n; i++) known[order[i]] = 1
    if (color) { bold = "\033[1m"; cyan = "\033[36m"; off = "\033[0m" }
    print "usage: make <target> [VARIABLE=value ...]"
}
FNR == 1 { group = "Other" }
/^##@ / { group = substr($0, 5); next }
/^[a-zA-Z0-9_-]+:.*## / {
    target = $0; sub(/:.*/, "", target)
    text = $0; sub(/^[^#]*## /, "", text)
    if (!(group in lines)) { lines[group] = ""; if (!(group in known)) extra[++m] = group }
    lines[group] = lines[group] sprintf("  %s%-18s%s %s\n", cyan, target, off, text)
}
function show(g) { if (g in lines) printf "\n%s%s%s\n%s", bold, g, off, lines[g] }
END {
    for (i = 1; i <= n; i++) show(order[i])
    for (i = 1; i <= m; i++) show(extra[i])
}
