// Checks a peer model made by bench/derive_ort_peer.py: runs the derived ONNX graph in ONNX Runtime
// and the matching model directory in `tensorzoo run` on the same ids, and compares last_hidden_state.
// Usage: node bench/check_ort_peer.js MODEL.onnx MODEL_DIR TENSORZOO_BINARY [BATCH] [SEQ]
// Needs onnxruntime-node resolvable (NODE_PATH=<dir>/node_modules, see ../shared/bench/onnxruntime-peer).
// Prints one JSON line (max_abs_diff, max_abs_value) and exits 1 when the outputs differ by more than
// 1e-4 (ONNX Runtime and PyTorch agree within 4e-6 on the exported small model).
'use strict';
const ort = require('onnxruntime-node');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const TOLERANCE = 1e-4;

function writeSafetensors(file, tensors) {  // tensors: {name: {dtype, shape, data: TypedArray}}
  const header = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  const parts = [size, Buffer.from(json)];
  for (const t of Object.values(tensors)) parts.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  fs.writeFileSync(file, Buffer.concat(parts));
}

function readSafetensorsF32(file, name) {
  const buf = fs.readFileSync(file);
  const headerLength = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLength).toString());
  const entry = header[name];
  if (!entry || entry.dtype !== 'F32') throw new Error(`${file}: no F32 tensor '${name}'`);
  const start = 8 + headerLength + entry.data_offsets[0], end = 8 + headerLength + entry.data_offsets[1];
  const bytes = Uint8Array.prototype.slice.call(buf, start, end);  // copy: aligned for Float32Array
  return { shape: entry.shape, data: new Float32Array(bytes.buffer) };
}

async function main() {
  const [model, modelDir, tensorzoo, b, s] = process.argv.slice(2);
  if (!tensorzoo) {
    console.error('usage: node bench/check_ort_peer.js MODEL.onnx MODEL_DIR TENSORZOO_BINARY [BATCH] [SEQ]');
    process.exit(2);
  }
  const batch = b ? +b : 2, seq = s ? +s : 64;
  const n = batch * seq, ids = new BigInt64Array(n), mask = new BigInt64Array(n).fill(1n);
  let x = 12345;  // the same ids as ort_bench.js
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) % 2147483648; ids[i] = BigInt(1000 + (x % 29000)); }
  if (batch > 1) for (let j = seq - seq / 4; j < seq; j++) mask[seq + j] = 0n;  // padding in the second row

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tz-ort-check-'));
  try {
    const inputs = path.join(dir, 'inputs.safetensors'), outputs = path.join(dir, 'outputs.safetensors');
    writeSafetensors(inputs, { input_ids: { dtype: 'I64', shape: [batch, seq], data: ids },
                               attention_mask: { dtype: 'I64', shape: [batch, seq], data: mask } });
    execFileSync(tensorzoo, ['run', '--model', modelDir, '--inputs', inputs, '--output', outputs],
                 { stdio: ['ignore', 'ignore', 'inherit'] });
    const ours = readSafetensorsF32(outputs, 'last_hidden_state');

    const runner = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all' });
    const out = await runner.run({ input_ids: new ort.Tensor('int64', ids, [batch, seq]),
                                   attention_mask: new ort.Tensor('int64', mask, [batch, seq]) });
    const theirs = out.last_hidden_state;
    if (JSON.stringify(theirs.dims) !== JSON.stringify(ours.shape))
      throw new Error(`shapes differ: ONNX Runtime ${JSON.stringify(theirs.dims)}, tensorzoo ${JSON.stringify(ours.shape)}`);
    let maxDiff = 0, maxValue = 0;
    for (let i = 0; i < ours.data.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(ours.data[i] - theirs.data[i]));
      maxValue = Math.max(maxValue, Math.abs(ours.data[i]));
    }
    const ok = maxDiff <= TOLERANCE;  // NaN fails too
    console.log(JSON.stringify({ model: path.basename(model), batch, seq, shape: ours.shape,
                                 max_abs_diff: maxDiff, max_abs_value: maxValue, ok }));
    if (!ok) process.exit(1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
main().catch(e => { console.error(e.message || e); process.exit(1); });
