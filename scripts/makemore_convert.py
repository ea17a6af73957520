#!/usr/bin/env python3
"""Take a `makemore` checkpoint to makemore.py's model.pt and back, and check the two agree.

ferrograd's makemore command saves the best model as WORKDIR/model.safetensors with exactly the
state-dict keys, shapes and layouts of makemore.py's models (bigram, mlp, rnn, gru, bow,
transformer), plus WORKDIR/config.json with the model type, sizes and vocabulary. So:

  to-torch   WORKDIR [-o model.pt]
      torch.save(load_file(WORKDIR/model.safetensors), model.pt): what
      `python makemore.py -i WORDS -o DIR --sample-only` (or --resume) loads from DIR/model.pt.
      Prints the makemore.py command line with the matching flags.

  from-torch model.pt -i WORDS -o WORKDIR [--type T --n-layer --n-head --n-embd --n-embd2 --seed]
      A makemore.py state dict (model.pt, trained on WORDS) to a work dir that `makemore sample -o
      WORKDIR` and `makemore eval -o WORKDIR` read. The type and sizes are read off the keys and
      shapes; the vocabulary is makemore.py's (sorted set of the characters of WORDS).

  check      WORKDIR [--makemore-py PATH]
      Loads the converted model.pt into makemore.py's own model class (imported from PATH, by
      default ../shared/peers/makemore.py beside the checkout, or $MAKEMORE_PY), runs it and
      ferrograd (through node + tsx) on the same sequences and prints the largest logit difference.
      Then converts that model.pt back with from-torch and checks that the weights come back
      bit for bit.

Needs torch and safetensors (run by hand; CI does not).
"""
import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMAT = 'ferrograd-makemore/1'
META_KEY = 'ferrograd.makemore'
MAKEMORE_PY_TYPES = ('bigram', 'mlp', 'rnn', 'gru', 'bow', 'transformer')


def read_config(workdir):
    path = os.path.join(workdir, 'config.json')
    with open(path, encoding='utf-8') as f:
        config = json.load(f)
    if config.get('format') != FORMAT:
        sys.exit(f'{path}: not a ferrograd makemore config (format {config.get("format")!r})')
    return config


def to_torch(workdir, out):
    config = read_config(workdir)
    if config['type'] not in MAKEMORE_PY_TYPES:
        sys.exit(f"{workdir} holds a '{config['type']}' model, which makemore.py does not have (its types: {', '.join(MAKEMORE_PY_TYPES)})")
    sd = load_file(os.path.join(workdir, 'model.safetensors'))
    torch.save(sd, out)
    m = config['model']
    print(f'wrote {out}: {len(sd)} tensors ({config["type"]}, step {config["step"]})')
    print(f'use it with: python makemore.py -i {config["inputFile"]} -o DIR --type {config["type"]} '
          f'--n-layer {m["nLayer"]} --n-head {m["nHead"]} --n-embd {m["nEmbd"]} --n-embd2 {m["nEmbd2"]} --sample-only'
          f'   (with {out} copied to DIR/model.pt)')


def read_words(path):
    with open(path, 'r', encoding='utf-8-sig') as f:
        words = [w.strip() for w in f.read().splitlines()]
    return [w for w in words if w]


def infer(sd, args):
    """makemore.py's type and ModelConfig from a state dict's keys and shapes."""
    keys = set(sd)
    if keys == {'logits'}:
        t, n_embd, n_embd2, n_layer = 'bigram', args.n_embd, args.n_embd2, args.n_layer
    elif 'transformer.wte.weight' in keys:
        t = 'transformer'
        n_embd = sd['transformer.wte.weight'].shape[1]
        n_layer = len({k.split('.')[2] for k in keys if k.startswith('transformer.h.')})
        n_embd2 = args.n_embd2
    elif 'context_block.cbow.bias' in keys:
        t, n_embd, n_embd2, n_layer = 'bow', sd['wte.weight'].shape[1], sd['context_block.mlp.c_fc.weight'].shape[0], args.n_layer
    elif 'cell.xh_to_hbar.weight' in keys:
        t, n_embd, n_embd2, n_layer = 'gru', sd['wte.weight'].shape[1], sd['start'].shape[1], args.n_layer
    elif 'cell.xh_to_h.weight' in keys:
        t, n_embd, n_embd2, n_layer = 'rnn', sd['wte.weight'].shape[1], sd['start'].shape[1], args.n_layer
    elif 'mlp.0.weight' in keys:
        t, n_embd, n_embd2, n_layer = 'mlp', sd['wte.weight'].shape[1], sd['mlp.0.weight'].shape[0], args.n_layer
    else:
        sys.exit(f'cannot tell which makemore.py model these keys are: {sorted(keys)[:6]}...')
    if args.type and args.type != t:
        sys.exit(f'--type {args.type}, but the state dict is a {t} model')
    return t, n_embd, n_embd2, n_layer


def from_torch(pt, input_file, workdir, args):
    sd = torch.load(pt, map_location='cpu', weights_only=True)
    sd = {k: v.detach().to(torch.float32).contiguous() for k, v in sd.items()}
    words = read_words(input_file)
    chars = sorted(set(''.join(words)))
    max_len = max(len(w) for w in words)
    t, n_embd, n_embd2, n_layer = infer(sd, args)
    vocab = len(chars) + 1
    rows = sd['logits'].shape[0] if t == 'bigram' else sd['transformer.wte.weight' if t == 'transformer' else 'wte.weight'].shape[0]
    if rows != vocab + (1 if t == 'mlp' else 0):
        sys.exit(f'{pt} has a vocabulary of {rows - (1 if t == "mlp" else 0)} tokens, {input_file} one of {vocab}: train and convert with the same word list')
    block = max_len + 1
    if t == 'transformer':
        block = sd['transformer.wpe.weight'].shape[0]
    elif t == 'bow':
        block = sd['wpe.weight'].shape[0]
    elif t == 'mlp':
        block = sd['mlp.0.weight'].shape[1] // n_embd
    config = {
        'format': FORMAT, 'type': t,
        'model': {'vocabSize': vocab, 'blockSize': block, 'nLayer': n_layer, 'nEmbd': n_embd, 'nEmbd2': n_embd2,
                  'nHead': args.n_head, 'contextSize': 0},
        'vocabulary': chars, 'maxWordLength': max_len, 'inputFile': os.path.abspath(input_file), 'seed': args.seed,
        'batchSize': 32, 'optimizer': 'AdamW', 'learningRate': 5e-4, 'weightDecay': 0.01,
        'schedule': 'constant', 'warmupSteps': 0, 'maxSteps': -1, 'evalEvery': 500, 'sampleEvery': 200, 'logEvery': 100,
        'numSamples': 10, 'topK': None, 'temperature': 1,
        'step': 0, 'trainLoss': None, 'testLoss': None,
    }
    os.makedirs(workdir, exist_ok=True)
    save_file(sd, os.path.join(workdir, 'model.safetensors'), metadata={META_KEY: json.dumps(config)})
    with open(os.path.join(workdir, 'config.json'), 'w', encoding='utf-8') as f:
        json.dump(config, f, indent=2)
        f.write('\n')
    print(f'wrote {workdir}/model.safetensors and config.json: {t}, vocabulary {vocab}, block {block}; try: makemore sample -o {workdir}')
    return config


def import_makemore_py(path):
    try:
        import torch.utils.tensorboard  # noqa: F401  (makemore.py imports SummaryWriter at the top)
    except ImportError:
        import types
        stub = types.ModuleType('torch.utils.tensorboard')
        stub.SummaryWriter = None  # only its training code uses it
        sys.modules['torch.utils.tensorboard'] = stub
    spec = importlib.util.spec_from_file_location('makemore_py', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # its training code is under `if __name__ == '__main__'`
    return mod


def ferrograd_logits(workdir, seqs):
    """Logits of the ferrograd model in workdir on seqs (lists of token ids), via node + tsx."""
    src = f"""
import {{ loadModel }} from {json.dumps(os.path.join(REPO, 'src/cli/use.ts'))};
import {{ Tensor }} from {json.dumps(os.path.join(REPO, 'src/tensor/tensor.ts'))};
import {{ noGrad }} from {json.dumps(os.path.join(REPO, 'src/autograd/grad-mode.ts'))};
const seqs = {json.dumps(seqs)};
const {{ model }} = loadModel({json.dumps(workdir)});
model.eval();
const T = seqs[0].length;
const out = noGrad(() => model.forward(new Tensor(Int32Array.from(seqs.flat()), [seqs.length, T])));
process.stdout.write(JSON.stringify({{ shape: out.shape, data: Array.from(out.contiguous().flat()) }}));
"""
    with tempfile.NamedTemporaryFile('w', suffix='.mts', delete=False) as f:
        f.write(src)
    try:
        r = subprocess.run(['npx', 'tsx', f.name], cwd=REPO, capture_output=True, text=True, check=True)
    finally:
        os.unlink(f.name)
    res = json.loads(r.stdout)
    return torch.tensor(res['data'], dtype=torch.float32).view(res['shape'])


def check(workdir, makemore_py):
    config = read_config(workdir)
    mm = import_makemore_py(makemore_py)
    with tempfile.TemporaryDirectory() as tmp:
        pt = os.path.join(tmp, 'model.pt')
        to_torch(workdir, pt)
        m = config['model']
        cfg = mm.ModelConfig(vocab_size=m['vocabSize'], block_size=m['blockSize'], n_layer=m['nLayer'],
                             n_head=m['nHead'], n_embd=m['nEmbd'], n_embd2=m['nEmbd2'])
        t = config['type']
        model = {'transformer': lambda: mm.Transformer(cfg), 'bigram': lambda: mm.Bigram(cfg), 'mlp': lambda: mm.MLP(cfg),
                 'rnn': lambda: mm.RNN(cfg, cell_type='rnn'), 'gru': lambda: mm.RNN(cfg, cell_type='gru'),
                 'bow': lambda: mm.BoW(cfg)}[t]()
        model.load_state_dict(torch.load(pt, weights_only=True))  # strict: every key and shape must match
        model.eval()
        # A batch of real words from the list as makemore.py's CharDataset encodes them.
        words = read_words(config['inputFile'])[:64]
        stoi = {c: i + 1 for i, c in enumerate(config['vocabulary'])}
        T = config['maxWordLength'] + 1
        seqs = []
        for w in words:
            ids = [0] + [stoi[c] for c in w]
            seqs.append((ids + [0] * T)[:T])
        with torch.no_grad():
            theirs, _ = model(torch.tensor(seqs, dtype=torch.long))
        ours = ferrograd_logits(workdir, seqs)
        diff = (theirs - ours).abs().max().item()
        print(f'{t}: makemore.py vs ferrograd logits on {len(seqs)} words x {T} positions: max |diff| = {diff:.3e} '
              f'(logits up to {theirs.abs().max().item():.2f})')
        # And back: the model.pt converts to a work dir whose weights are the same bits.
        back = os.path.join(tmp, 'back')
        ns = argparse.Namespace(type=None, n_layer=m['nLayer'], n_head=m['nHead'], n_embd=m['nEmbd'], n_embd2=m['nEmbd2'], seed=config['seed'])
        from_torch(pt, config['inputFile'], back, ns)
        a = load_file(os.path.join(workdir, 'model.safetensors'))
        b = load_file(os.path.join(back, 'model.safetensors'))
        same = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        print(f'round trip model.safetensors -> model.pt -> model.safetensors: {"identical" if same else "DIFFERENT"}')
        ok = diff < 1e-4 and same
        print('OK' if ok else 'MISMATCH')
        return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description='Convert makemore checkpoints between ferrograd and makemore.py.')
    sub = p.add_subparsers(dest='cmd', required=True)
    a = sub.add_parser('to-torch')
    a.add_argument('workdir')
    a.add_argument('-o', '--out', default='model.pt')
    b = sub.add_parser('from-torch')
    b.add_argument('model_pt')
    b.add_argument('-i', '--input-file', required=True)
    b.add_argument('-o', '--work-dir', required=True)
    b.add_argument('--type', choices=MAKEMORE_PY_TYPES)
    b.add_argument('--n-layer', type=int, default=4)
    b.add_argument('--n-head', type=int, default=4)
    b.add_argument('--n-embd', type=int, default=64)
    b.add_argument('--n-embd2', type=int, default=64)
    b.add_argument('--seed', type=int, default=3407)
    c = sub.add_parser('check')
    c.add_argument('workdir')
    c.add_argument('--makemore-py', default=os.environ.get('MAKEMORE_PY', os.path.join(os.path.dirname(REPO), 'shared', 'peers', 'makemore.py')))
    args = p.parse_args()
    if args.cmd == 'to-torch':
        to_torch(args.workdir, args.out)
    elif args.cmd == 'from-torch':
        from_torch(args.model_pt, args.input_file, args.work_dir, args)
    else:
        sys.exit(check(args.workdir, args.makemore_py))


if __name__ == '__main__':
    main()
