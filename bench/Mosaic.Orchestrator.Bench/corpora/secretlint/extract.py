# Extracts secretlint's rule snapshots (packages/@secretlint/secretlint-rule-*/test/snapshots/<case>/; the presets'
# snapshots, one folder deeper, repeat the rules' own and are not read) into cases.json,
# in the shape of ../gitleaks/cases.json. Run once:
#   python3 extract.py <secretlint git dir> cases.json
# A case is its input file, named as the snapshot names it; a true positive when its output.json reports a message,
# a false positive when it reports none. Left out (under "skipped"): snapshots with a .secretlintrc.json (their outcome
# depends on the rule's options), inputs that are not UTF-8 text, and rules that are policies or configuration
# rather than secret detectors (listed in POLICY).
import json, subprocess, sys
G = sys.argv[1]; out = sys.argv[2]
POLICY = {
    'secretlint-rule-pattern': 'patterns the user configures',
    'secretlint-rule-filter-comments': 'a filter of other rules\' results',
    'secretlint-rule-example': 'an example rule',
    'secretlint-rule-no-homedir': 'a policy: home directory paths, not secrets',
    'secretlint-rule-no-dotenv': 'a policy: any .env file by name',
    'secretlint-rule-no-k8s-kind-secret': 'a policy: any Kubernetes Secret manifest',
}
def git(*a, binary=False):
    r = subprocess.run(['git', '--git-dir=' + G, *a], capture_output=True, check=True)
    return r.stdout if binary else r.stdout.decode()
commit = git('rev-parse', 'HEAD').strip()
paths = git('ls-tree', '-r', '--name-only', 'HEAD', 'packages/@secretlint/').splitlines()
snapshots = {}
for p in paths:
    parts = p.split('/')
    if len(parts) == 7 and parts[3] == 'test' and parts[4] == 'snapshots' and parts[2].startswith('secretlint-rule-'):
        snapshots.setdefault((parts[2], parts[5]), []).append(parts[6])
cases, skipped = [], []
for (rule, case), files in sorted(snapshots.items()):
    base = f'packages/@secretlint/{rule}/test/snapshots/{case}/'
    # The scanned file: the one named input*, else the only file that is not the snapshot's own (options.ts passes
    # the input's name for the rules that care, such as .npmrc or package.json; the gcp .p12 cases keep the key they
    # were made from beside the input).
    others = [f for f in files if not f.startswith('output') and f not in ('.secretlintrc.json', 'options.ts', 'README.md', '.gitignore')]
    inputs = [f for f in others if f.startswith('input')] or others
    if 'output.json' not in files or len(inputs) != 1:
        skipped.append({'rule': rule, 'case': case, 'kind': None, 'why': 'no single input and output.json'}); continue
    messages = json.loads(git('show', 'HEAD:' + base + 'output.json')).get('messages', [])
    kind = 'tp' if messages else 'fp'
    if rule in POLICY:
        skipped.append({'rule': rule, 'case': case, 'kind': kind, 'why': POLICY[rule]}); continue
    if '.secretlintrc.json' in files:
        skipped.append({'rule': rule, 'case': case, 'kind': kind, 'why': 'depends on the rule\'s options'}); continue
    raw = git('show', 'HEAD:' + base + inputs[0], binary=True)
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        skipped.append({'rule': rule, 'case': case, 'kind': kind, 'why': 'binary input'}); continue
    cases.append({'rule': rule[len('secretlint-rule-'):], 'kind': kind, 'path': inputs[0], 'case': case, 'text': text})
json.dump({'source': 'https://github.com/secretlint/secretlint', 'commit': commit, 'cases': cases, 'skipped': skipped},
          open(out, 'w'), indent=1, ensure_ascii=False)
print(f"{len(cases)} cases ({sum(c['kind'] == 'tp' for c in cases)} tp, {sum(c['kind'] == 'fp' for c in cases)} fp), {len(skipped)} skipped")
