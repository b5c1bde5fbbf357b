// BullMQ doing the work of `bench queue`: enqueue N no-op jobs (one add each), then process them all with a worker
// at the given concurrency. Usage: node bench.mjs <port> [jobs=20000] [concurrencies=1,8] [job=same|plain]
// job=same (the default): each job is what our queue holds for a task, an agent record as a spawn stores it (the
// same fields and size as QueueBench's, about 450 bytes of JSON), queued with a priority, as every task of ours is
// (BullMQ then keeps it in its prioritized sorted set, as ours does, instead of its plain list).
// job=plain: `{ i }` and no priority, BullMQ's cheapest job, as this benchmark did before 2026-12-05.
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

const port = Number(process.argv[2]);
const jobs = Number(process.argv[3] ?? 20000);
const concurrencies = (process.argv[4] ?? '1,8').split(',').map(Number);
const kind = process.argv[5] ?? 'same';
if (!['same', 'plain'].includes(kind)) throw new Error(`job must be same or plain, not ${kind}`);
const record = (i) => ({
  agentId: randomUUID(), taskId: `job-${i}`, agentType: 'worker', gateProfile: 'standard', priority: 5,
  context: { repository: 'https://git.example.test/repo.git', branch: 'main', workItems: ['B-1'], skills: [] },
  status: 'spawning', spawnedAt: new Date().toISOString(), maxAttempts: 3, pushed: false, isLive: true,
  taskState: 'pending', attempt: 0, sequence: i, version: 1,
});
const addJob = (queue, i) => (kind === 'same' ? queue.add('task', record(i), { priority: 5 }) : queue.add('noop', { i }));
// BullMQ 6 takes ioredis as an optional peer: under ESM it wants a client instance.
const connect = () => new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null });

// redis-server's CPU time so far, in microseconds (user + system, all its threads).
async function serverCpu(client) {
  const text = await client.info('cpu');
  const field = (name) => Number(text.match(new RegExp(`${name}:([0-9.]+)`))[1]);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

// CPU as well as time: on a shared machine the rates move with the load, the CPU per job less.
async function runOnce(count, concurrency) {
  const name = `bench-${concurrency}-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`;
  const queueClient = connect();
  const queue = new Queue(name, { connection: queueClient });
  let next = -1;
  const [client0, server0] = [process.cpuUsage(), await serverCpu(queueClient)];
  let started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = ++next; i < count; i = ++next) {
      await addJob(queue, i);
    }
  }));
  const add = Number(process.hrtime.bigint() - started) / 1e9;

  let done = 0;
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const workerClient = connect();
  const worker = new Worker(name, async () => {}, { connection: workerClient, concurrency, autorun: false });
  worker.on('completed', () => { if (++done === count) finish(); });
  started = process.hrtime.bigint();
  worker.run();
  await finished;
  const work = Number(process.hrtime.bigint() - started) / 1e9;
  const client = process.cpuUsage(client0);
  const serverUs = await serverCpu(queueClient) - server0;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  queueClient.disconnect();
  workerClient.disconnect();
  return { add, work, clientUs: client.user + client.system, serverUs };
}

// Warm-up, not reported: BENCH_WARMUP_JOBS jobs (bench/queue-bench.sh passes as many as the .NET side needed for its JIT
// to settle), or as many as measured.
await runOnce(Number(process.env.BENCH_WARMUP_JOBS || jobs), 8);
for (const concurrency of concurrencies) {
  const { add, work, clientUs, serverUs } = await runOnce(jobs, concurrency);
  console.log(`bullmq${kind === 'same' ? '' : '-plain'} concurrency=${concurrency} jobs=${jobs} add=${(jobs / add).toFixed(0)}/s process=${(jobs / work).toFixed(0)}/s total=${(jobs / (add + work)).toFixed(0)}/s cpu_us_per_job client=${(clientUs / jobs).toFixed(0)} server=${(serverUs / jobs).toFixed(0)}`);
}
