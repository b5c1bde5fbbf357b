# Extracts the literal tps/fps strings of gitleaks' rule files (cmd/generate/config/rules/*.go) into cases.json. Run once:
#   python3 extract.py <gitleaks bare or normal git dir> cases.json
import json, re, subprocess, sys
G = sys.argv[1]; out = sys.argv[2]
def git(*a): return subprocess.run(['git', '--git-dir=' + G, *a], capture_output=True, text=True, check=True).stdout
commit = git('rev-parse', 'HEAD').strip()
files = [f for f in git('ls-tree', '--name-only', 'HEAD', 'cmd/generate/config/rules/').split() if f.endswith('.go') and not f.endswith('_test.go')]
ESC = {'n': '\n', 't': '\t', 'r': '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0', 'a': '\a', 'b': '\b', 'f': '\f', 'v': '\v'}
def lex(src):
    i, n, toks = 0, len(src), []
    while i < n:
        c = src[i]
        if c == '\n': toks.append(('nl', '\n')); i += 1; continue
        if c.isspace(): i += 1; continue
        if src.startswith('//', i): i = src.find('\n', i); i = n if i < 0 else i; continue
        if src.startswith('/*', i): i = src.find('*/', i) + 2; continue
        if c == '`':
            j = src.find('`', i + 1); toks.append(('str', src[i + 1:j].replace('\r', ''))); i = j + 1; continue
        if c == '"':
            j, s = i + 1, []
            while src[j] != '"':
                if src[j] == '\\':
                    e = src[j + 1]
                    if e == 'x': s.append(chr(int(src[j + 2:j + 4], 16))); j += 4; continue
                    if e == 'u': s.append(chr(int(src[j + 2:j + 6], 16))); j += 6; continue
                    if e == 'U': s.append(chr(int(src[j + 2:j + 10], 16))); j += 10; continue
                    s.append(ESC[e]); j += 2; continue
                s.append(src[j]); j += 1
            toks.append(('str', ''.join(s))); i = j + 1; continue
        m = re.match(r'[A-Za-z_][A-Za-z0-9_]*|\d[\w.]*|:=|\.\.\.|[^\s]', src[i:])
        t = m.group(0); toks.append(('id' if (t[0].isalpha() or t[0] == '_') else 'op', t)); i += len(t)
    return toks
OPEN = {'(': ')', '{': '}', '[': ']'}
gen = [x for x in lex(git('show', 'HEAD:cmd/generate/config/utils/generate.go')) if x[0] != 'nl']
g0 = next(q for q in range(len(gen)) if gen[q][1] == 'GenerateSampleSecrets' and gen[q - 1][1] == 'func')
g1 = next(q for q in range(g0, len(gen)) if gen[q][1] == 'samples') + 6  # samples := map[string]string{
TEMPLATES = []
while gen[g1][1] != '}':
    if gen[g1][0] == 'str' and gen[g1 + 1][1] == ':': TEMPLATES.append(gen[g1 + 2][1]); g1 += 3
    else: g1 += 1
def literal(el):
    if el and el[0][0] == 'str' and all(x[0] == 'str' or x[1] == '+' for x in el): return ''.join(x[1] for x in el if x[0] == 'str')
    return None
def generated(el):
    # utils.GenerateSampleSecrets("id", <literals>)[...] or utils.GenerateSampleSecret("id", <literals>) with literal
    # arguments: expanded exactly as gitleaks does; None when an argument is computed (NewSecret, variables)
    if el and el[-1][1] == '...': el = el[:-1]
    if len(el) < 6 or [x[1] for x in el[:4]] != ['utils', '.', el[2][1], '('] or el[-1][1] != ')': return None
    args, cur, depth = [], [], 0
    for x in el[4:-1]:
        if x[1] in OPEN: depth += 1
        if x[1] in (')', '}', ']'): depth -= 1
        if x[1] == ',' and depth == 0: args.append(cur); cur = []
        else: cur.append(x)
    args.append(cur)
    if len(args) != 2 or literal(args[0]) is None or literal(args[1]) is None: return None
    i, sec = literal(args[0]), literal(args[1])
    if el[2][1] == 'GenerateSampleSecret': return ['%s_api_token = "%s"' % (i, sec)]
    if el[2][1] == 'GenerateSampleSecrets':
        return [t.replace('{i}', i).replace('{I}', i.upper()).replace('{s}', sec) for t in TEMPLATES]
    return None
records, skipped = [], []
for f in files:
    toks = lex(git('show', 'HEAD:' + f))
    rule, path = None, None
    # package- or function-level []string variables of literals (cloudflare's global_keys, api_keys, ...)
    lists = {}
    flat = [x for x in toks if x[0] != 'nl']
    for q in range(len(flat) - 5):
        if flat[q][0] == 'id' and flat[q + 1][1] in ('=', ':=') and [x[1] for x in flat[q + 2:q + 6]] == ['[', ']', 'string', '{'] and not re.fullmatch(r'(tps|fps)\w*', flat[q][1]):
            vals, r2 = [], q + 6
            while flat[r2][1] != '}':
                if flat[r2][0] == 'str': vals.append(flat[r2][1])
                elif flat[r2][1] not in (',',): vals = None; break
                r2 += 1
            if vals: lists[flat[q][1]] = vals
    k = 0
    while k < len(toks):
        kind, t = toks[k]
        if t == 'func': rule, path = None, None
        nn = [x for x in toks[k + 1:k + 12] if x[0] != 'nl']
        if t == 'RuleID' and nn[0][1] == ':' and nn[1][0] == 'str': rule = nn[1][1]
        if t == 'Path' and nn[0][1] == ':':
            for q in nn[1:7]:
                if q[0] == 'str': path = q[1]; break
        if kind == 'id' and re.fullmatch(r'(tps|fps)\w*', t) and nn[0][1] in (':=', '=') and rule:
            label = 'tp' if t.startswith('tps') else 'fp'
            # expression: up to the end of the statement (depth back to 0 and next token starts a new statement)
            j, depth, start = k + 2, 0, k + 2
            while j < len(toks):
                if toks[j][1] in OPEN: depth += 1
                elif toks[j][1] in (')', '}', ']'): depth -= 1
                j += 1
                if depth == 0 and j < len(toks) and toks[j][0] == 'nl' and toks[j - 1][1] not in ('+', '.', ',', '(', '{', '['):
                    break
            expr = [x for x in toks[start:j] if x[0] != 'nl']
            # walk: collect elements of collection contexts ([]string{...} or append(...)/map{...})
            def elements(ts):
                # yields (context, element tokens) for every top-level element of every collection in ts
                stack = []  # (bracket, collection?, element tokens)
                res = []
                for q, (kk, tt) in enumerate(ts):
                    if stack and stack[-1][1] and tt not in (',',) and not (tt in (')', '}') and len(stack) and True and False):
                        pass
                    if tt in OPEN:
                        prev = ts[q - 1][1] if q else ''
                        coll = (tt == '{' and prev in ('string',)) or (tt == '(' and prev == 'append')
                        if stack and stack[-1][1]: stack[-1][2].append((kk, tt))
                        stack.append([tt, coll, []])
                        continue
                    if tt in (')', '}', ']'):
                        b = stack.pop()
                        if b[1] and b[2]: res.append(b[2])
                        if stack and stack[-1][1]: stack[-1][2].append((kk, tt))
                        continue
                    if stack and stack[-1][1] and len(stack) and tt == ',' :
                        if stack[-1][2]: res.append(stack[-1][2])
                        stack[-1][2] = []
                        continue
                    if stack and stack[-1][1]: stack[-1][2].append((kk, tt))
                return res
            top = [expr] if expr and expr[0][1] not in ('[', 'map', 'append') else []
            for el in top + elements(expr):
                # an element nested deeper inside another collection's element is reported by that collection too:
                # only literal-only elements (strings joined by +, optionally "key": value for maps) are taken
                if len(el) == 1 and el[0][1] == t: continue  # append(tps, ...) first argument
                if len(el) == 2 and el[0][1] == t and el[1][1] == '...': continue
                key = None
                if len(el) >= 3 and el[0][0] == 'str' and el[1][1] == ':': key, el = el[0][1], el[2:]
                if el[0][0] == 'id' and el[0][1] in lists and all(x[1] == '...' for x in el[1:]) and len(el) <= 2:
                    for v in lists[el[0][1]]:
                        records.append({'rule': rule, 'kind': label, 'path': None, 'text': v})
                    continue
                g = generated(el)
                if g is not None:
                    records.extend({'rule': rule, 'kind': label, 'path': key or None, 'text': v, 'generated': True} for v in g)
                    continue
                if all(x[0] == 'str' or x[1] == '+' for x in el) and el[0][0] == 'str':
                    records.append({'rule': rule, 'kind': label, 'path': key or None, 'text': ''.join(x[1] for x in el if x[0] == 'str')})
                elif any(x[0] == 'str' for x in el) or any(x[0] == 'id' for x in el):
                    # a nested collection element ([]string{...} inside append) was already taken on its own
                    if any(x[1] == 'string' for x in el) and not any(x[1] in ('GenerateSampleSecrets', 'NewSecret', 'Sprintf', 'Repeat') for x in el): continue
                    if el[0][1] == '[': continue  # a nested []string{...}: its elements were taken on their own
                    skipped.append({'rule': rule, 'kind': label, 'expr': ' '.join(x[1] if x[0] != 'str' else repr(x[1])[:40] for x in el)[:160]})
            k = j; continue
        k += 1
json.dump({'source': 'https://github.com/gitleaks/gitleaks', 'commit': commit, 'files': 'cmd/generate/config/rules/*.go',
           'cases': records, 'skipped': skipped}, open(out, 'w'), indent=1, ensure_ascii=False)
print(len(TEMPLATES), 'templates;', sum(1 for r in records if r.get('generated')), 'expanded from literal GenerateSampleSecret(s) calls;', len(records), 'cases;', sum(r['kind'] == 'tp' for r in records), 'tp,', sum(r['kind'] == 'fp' for r in records), 'fp;', len(skipped), 'skipped;', len({r['rule'] for r in records}), 'rules')
