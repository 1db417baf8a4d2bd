//! The communicator: one background thread per process that owns MPI and runs every
//! collective, in an order that all processes agree on (Horovod's coordinator).
//!
//! Kernels hand it requests ([`submit`]) and go on; a request names its collective (the node
//! name, the same on every process of a data-parallel job). Every other process tells rank 0
//! which collectives it has ready, with their shapes; rank 0 runs a collective once every
//! process has it, checks the shapes agree, and sends the order to the others. So kernels may
//! become ready in different orders on different processes (the executor's threads do), yet
//! the collectives never mix two tensors. A collective that some process does not reach within
//! the timeout fails everywhere with an error naming the missing ranks.

use mpi::collective::SystemOperation;
use mpi::point_to_point::{Destination, MatchedReceiveVec, Source};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;
use rustflow_graph::{fmt_dims, DType, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Message tags: a process's ready collectives (to rank 0), and rank 0's orders.
const TAG_READY: i32 = 17;
const TAG_ORDER: i32 = 18;

/// How long the thread sleeps between looks at MPI when nothing happens.
const POLL: Duration = Duration::from_micros(100);

/// A process's place in the job (`hvd.rank()`, `hvd.size()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct World {
    /// This process's rank, `0..size`.
    pub rank: usize,
    /// The number of processes.
    pub size: usize,
}

/// What a collective does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collective {
    /// Element-wise sum over the processes.
    Sum,
    /// Element-wise mean over the processes.
    Average,
    /// Every process gets the value of this rank.
    Broadcast(usize),
    /// The processes' values concatenated along the first axis, in rank order.
    Allgather,
}

/// What a process says about one of its collectives: enough for rank 0 to check that all
/// processes mean the same collective.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Header {
    pub name: String,
    pub kind: Collective,
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// The members of a fused buffer (`name [shape]` each), empty for one tensor.
    pub members: String,
}

impl Header {
    fn encode(&self, out: &mut Vec<u8>) {
        put_str(out, &self.name);
        let (k, root) = match self.kind {
            Collective::Sum => (0u8, 0),
            Collective::Average => (1, 0),
            Collective::Broadcast(r) => (2, r),
            Collective::Allgather => (3, 0),
        };
        out.push(k);
        put_u64(out, root as u64);
        out.push(dtype_code(self.dtype));
        put_u64(out, self.shape.len() as u64);
        for &d in &self.shape {
            put_u64(out, d as u64);
        }
        put_str(out, &self.members);
    }

    fn decode(r: &mut Reader<'_>) -> Option<Header> {
        let name = r.str()?;
        let k = r.u8()?;
        let root = r.u64()? as usize;
        let kind = match k {
            0 => Collective::Sum,
            1 => Collective::Average,
            2 => Collective::Broadcast(root),
            3 => Collective::Allgather,
            _ => return None,
        };
        let dtype = dtype_from_code(r.u8()?)?;
        let n = r.u64()? as usize;
        let shape = (0..n)
            .map(|_| r.u64().map(|d| d as usize))
            .collect::<Option<_>>()?;
        let members = r.str()?;
        Some(Header {
            name,
            kind,
            dtype,
            shape,
            members,
        })
    }

    /// Whether two processes' headers describe the same collective (an allgather's first
    /// dimension may differ).
    fn agrees(&self, other: &Header) -> bool {
        let skip = usize::from(self.kind == Collective::Allgather);
        self.kind == other.kind
            && self.dtype == other.dtype
            && self.members == other.members
            && self.shape.len() == other.shape.len()
            && self
                .shape
                .iter()
                .skip(skip)
                .eq(other.shape.iter().skip(skip))
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} {} {}",
            self.kind,
            self.dtype.tf_name(),
            fmt_dims(&self.shape)
        )?;
        if !self.members.is_empty() {
            write!(f, " of ({})", self.members)?;
        }
        Ok(())
    }
}

/// What a request reduces: one tensor, or the members of a fused buffer (packed in order;
/// the answer is then the flat reduced buffer).
pub(crate) enum Payload {
    Tensor(Value),
    Fused(Vec<Value>),
}

/// The answer to a request: the result, or why there is none.
pub(crate) type Reply = std::result::Result<Value, String>;

struct Request {
    header: Header,
    payload: Payload,
    reply: Sender<Reply>,
    since: Instant,
}

enum Message {
    Request(Request),
    Shutdown,
}

struct Handle {
    world: World,
    tx: Sender<Message>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

static HANDLE: OnceLock<std::result::Result<Handle, String>> = OnceLock::new();

/// Starts MPI on the communicator thread (once per process; later calls return the same
/// world). `timeout` bounds how long a collective waits for the other processes.
pub(crate) fn start(timeout: Duration) -> std::result::Result<World, String> {
    let h = HANDLE.get_or_init(|| {
        let (tx, rx) = channel();
        let (wtx, wrx) = channel();
        let thread = std::thread::Builder::new()
            .name("rustflow-mpi".into())
            .spawn(move || run(rx, wtx, timeout))
            .map_err(|e| format!("cannot start the MPI thread: {e}"))?;
        let world = wrx
            .recv()
            .map_err(|_| "the MPI thread died while starting".to_string())??;
        // MPI_Finalize must run before the process exits, on the thread that initialized it.
        // SAFETY: `finalize` is a plain `extern "C" fn` without arguments.
        unsafe { libc::atexit(finalize) };
        Ok(Handle {
            world,
            tx,
            thread: Mutex::new(Some(thread)),
        })
    });
    h.as_ref().map(|h| h.world).map_err(Clone::clone)
}

/// The world, if [`start`] succeeded.
pub(crate) fn world() -> Option<World> {
    HANDLE.get()?.as_ref().ok().map(|h| h.world)
}

extern "C" fn finalize() {
    if let Some(Ok(h)) = HANDLE.get() {
        let _ = h.tx.send(Message::Shutdown);
        if let Some(t) = h.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

/// Hands a collective to the communicator; the answer comes on the returned channel.
pub(crate) fn submit(header: Header, payload: Payload) -> Receiver<Reply> {
    let (reply, answer) = channel();
    let Some(Ok(h)) = HANDLE.get() else {
        let _ = reply.send(Err(
            "MPI is not initialized in this process: call rustflow_mpi::init() first".into(),
        ));
        return answer;
    };
    let req = Request {
        header,
        payload,
        reply: reply.clone(),
        since: Instant::now(),
    };
    if h.tx.send(Message::Request(req)).is_err() {
        let _ = reply.send(Err("the MPI thread has stopped".into()));
    }
    answer
}

/// Submits and waits for the answer.
pub(crate) fn call(header: Header, payload: Payload) -> Reply {
    submit(header, payload)
        .recv()
        .map_err(|_| "the MPI thread has stopped".to_string())?
}

/// The communicator thread: initializes MPI, serves requests until shutdown, finalizes.
fn run(
    rx: Receiver<Message>,
    started: Sender<std::result::Result<World, String>>,
    timeout: Duration,
) {
    let Some((universe, _)) = mpi::initialize_with_threading(mpi::Threading::Funneled) else {
        let _ = started.send(Err("MPI was already initialized in this process".into()));
        return;
    };
    let comm = universe.world();
    let world = World {
        rank: comm.rank() as usize,
        size: comm.size() as usize,
    };
    let _ = started.send(Ok(world));
    let mut c = Coordinator {
        comm,
        world,
        timeout,
        local: HashMap::new(),
        table: BTreeMap::new(),
        arrival: 0,
        broken: None,
        spare: Vec::new(),
    };
    loop {
        let mut active = false;
        loop {
            match rx.try_recv() {
                Ok(Message::Request(r)) => {
                    c.accept(r);
                    active = true;
                }
                Ok(Message::Shutdown) | Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    c.fail_all("MPI is shutting down".into());
                    return;
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
            }
        }
        active |= c.progress();
        if !active {
            // With nothing in flight nobody waits on MPI, so the thread sleeps until a
            // kernel submits: polling every 100 µs costs a sharing compute thread about a
            // third of its speed (context switches and the cache they spoil).
            let next = if c.idle() {
                rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                rx.recv_timeout(POLL)
            };
            match next {
                Ok(Message::Request(r)) => c.accept(r),
                Ok(Message::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                    c.fail_all("MPI is shutting down".into());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

/// One collective on rank 0's table: the header each process sent, and when it was first seen.
struct Entry {
    headers: BTreeMap<usize, Header>,
    since: Instant,
    arrival: u64,
}

/// What rank 0 tells every process to do with a collective.
enum Order {
    Run(String),
    Fail(String, String),
}

struct Coordinator {
    comm: SimpleCommunicator,
    world: World,
    timeout: Duration,
    /// This process's requests that have not run yet, by name.
    local: HashMap<String, Request>,
    /// Rank 0 only: the collectives some process has ready.
    table: BTreeMap<String, Entry>,
    arrival: u64,
    /// Set after a timeout: the job cannot go on, every request fails with this.
    broken: Option<String>,
    /// Freed buffers, reused for the next reductions of the same length.
    spare: Vec<Vec<f32>>,
}

impl Coordinator {
    /// Whether nothing is in flight: no request of this process waits, and (on rank 0) no
    /// other process has a collective ready. Then no message can matter until a kernel
    /// submits: the others only report collectives to rank 0, and rank 0 only orders those
    /// every process has submitted (or that timed out, which this process learns at its
    /// next request).
    fn idle(&self) -> bool {
        self.local.is_empty() && self.table.is_empty()
    }

    fn accept(&mut self, r: Request) {
        if let Some(msg) = &self.broken {
            let _ = r.reply.send(Err(msg.clone()));
            return;
        }
        let name = r.header.name.clone();
        if self.local.contains_key(&name) {
            let _ = r.reply.send(Err(format!(
                "collective '{name}' was submitted again before the previous one finished \
                 (two concurrent runs of the same node?)"
            )));
            return;
        }
        if self.world.rank == 0 {
            self.note(0, r.header.clone());
        } else {
            let mut buf = Vec::new();
            r.header.encode(&mut buf);
            self.comm
                .process_at_rank(0)
                .send_with_tag(&buf[..], TAG_READY);
        }
        self.local.insert(name, r);
    }

    /// Rank 0: records that `rank` has `header` ready.
    fn note(&mut self, rank: usize, header: Header) {
        self.arrival += 1;
        let arrival = self.arrival;
        self.table
            .entry(header.name.clone())
            .or_insert_with(|| Entry {
                headers: BTreeMap::new(),
                since: Instant::now(),
                arrival,
            })
            .headers
            .insert(rank, header);
    }

    /// Looks at MPI once; runs what is ready. Whether anything happened.
    fn progress(&mut self) -> bool {
        if self.world.rank == 0 {
            let mut any = false;
            while let Some(probed) = self
                .comm
                .any_process()
                .immediate_matched_probe_with_tag(TAG_READY)
            {
                let rank = probed.1.source_rank() as usize;
                let (bytes, _) = probed.matched_receive_vec::<u8>();
                match Header::decode(&mut Reader(&bytes)) {
                    Some(h) => self.note(rank, h),
                    None => self.broken = Some(format!("rank {rank} sent a malformed message")),
                }
                any = true;
            }
            let orders = self.decide();
            if orders.is_empty() {
                return any;
            }
            let mut buf = Vec::new();
            encode_orders(&orders, &mut buf);
            for r in 1..self.world.size {
                self.comm
                    .process_at_rank(r as i32)
                    .send_with_tag(&buf[..], TAG_ORDER);
            }
            self.execute(orders);
            true
        } else {
            if let Some(probed) = self
                .comm
                .process_at_rank(0)
                .immediate_matched_probe_with_tag(TAG_ORDER)
            {
                let (bytes, _) = probed.matched_receive_vec::<u8>();
                match decode_orders(&bytes) {
                    Some(orders) => self.execute(orders),
                    None => self.break_with("rank 0 sent a malformed order".into()),
                }
                return true;
            }
            // Rank 0 reports a missing process after `timeout`; waiting twice as long for its
            // word means rank 0 itself is gone.
            let late = self
                .local
                .values()
                .find(|r| r.since.elapsed() > 2 * self.timeout)
                .map(|r| r.header.name.clone());
            if let Some(name) = late {
                self.break_with(format!(
                    "collective '{name}' timed out after {:?} on rank {}: rank 0 (the \
                     coordinator) gave no order; it died or stalled",
                    2 * self.timeout,
                    self.world.rank
                ));
            }
            false
        }
    }

    /// Rank 0: the collectives every process has (checked for agreement) and those that
    /// timed out, in the order they first became ready.
    fn decide(&mut self) -> Vec<Order> {
        let size = self.world.size;
        let mut ready: Vec<(u64, Order)> = Vec::new();
        let mut done = Vec::new();
        for (name, e) in &self.table {
            if e.headers.len() == size {
                let first = &e.headers[&0];
                let order = if e.headers.values().all(|h| first.agrees(h)) {
                    Order::Run(name.clone())
                } else {
                    let each: Vec<String> = e
                        .headers
                        .iter()
                        .map(|(r, h)| format!("rank {r}: {h}"))
                        .collect();
                    Order::Fail(
                        name.clone(),
                        format!(
                            "collective '{name}' differs between processes ({}): the ranks \
                             built different graphs or fed different shapes",
                            each.join("; ")
                        ),
                    )
                };
                ready.push((e.arrival, order));
                done.push(name.clone());
            } else if e.since.elapsed() > self.timeout {
                let missing: Vec<String> = (0..size)
                    .filter(|r| !e.headers.contains_key(r))
                    .map(|r| r.to_string())
                    .collect();
                let have: Vec<String> = e.headers.keys().map(|r| r.to_string()).collect();
                let msg = format!(
                    "collective '{name}' timed out after {:?}: rank(s) {} never reached it \
                     (ready on rank(s) {}); a process died, stalled or runs another graph",
                    self.timeout,
                    missing.join(", "),
                    have.join(", ")
                );
                ready.push((e.arrival, Order::Fail(name.clone(), msg.clone())));
                self.broken.get_or_insert(msg);
                done.push(name.clone());
            }
        }
        for n in done {
            self.table.remove(&n);
        }
        ready.sort_by_key(|(a, _)| *a);
        ready.into_iter().map(|(_, o)| o).collect()
    }

    fn execute(&mut self, orders: Vec<Order>) {
        for o in orders {
            match o {
                Order::Run(name) => match self.local.remove(&name) {
                    Some(r) => {
                        let result = self.collective(r.header, r.payload);
                        let _ = r.reply.send(result);
                    }
                    None => self.break_with(format!(
                        "rank {} was told to run collective '{name}', which it never submitted",
                        self.world.rank
                    )),
                },
                Order::Fail(name, msg) => {
                    if let Some(r) = self.local.remove(&name) {
                        let _ = r.reply.send(Err(msg.clone()));
                    }
                    if msg.contains("timed out") {
                        self.break_with(msg);
                    }
                }
            }
        }
    }

    fn break_with(&mut self, msg: String) {
        self.broken.get_or_insert(msg.clone());
        self.fail_all(msg);
    }

    fn fail_all(&mut self, msg: String) {
        for (_, r) in self.local.drain() {
            let _ = r.reply.send(Err(msg.clone()));
        }
    }

    /// A zeroed-or-reused float buffer of `len`.
    fn buffer(&mut self, len: usize) -> Vec<f32> {
        match self.spare.iter().position(|b| b.len() == len) {
            Some(i) => self.spare.swap_remove(i),
            None => vec![0.0; len],
        }
    }

    /// Keeps a spent float buffer that nothing else holds, for the next reduction.
    fn recycle(&mut self, v: Value) {
        if let Some(data) = v.into_unique_f32() {
            if data.len() >= 4096 {
                self.spare.push(data);
                self.spare.truncate(4);
            }
        }
    }

    /// Runs one agreed collective.
    fn collective(&mut self, h: Header, payload: Payload) -> Reply {
        let n = self.world.size;
        match (h.kind, payload) {
            (Collective::Sum | Collective::Average, payload) => {
                let (send, len) = match payload {
                    Payload::Tensor(v) => {
                        let len = v.len();
                        (v, len)
                    }
                    Payload::Fused(members) => {
                        let len = members.iter().map(Value::len).sum();
                        let mut buf = self.buffer(len);
                        let mut at = 0;
                        for m in &members {
                            let s = m.as_slice::<f32>().map_err(|e| e.to_string())?;
                            buf[at..at + s.len()].copy_from_slice(s);
                            at += s.len();
                        }
                        (Value::new(&[len], buf).map_err(|e| e.to_string())?, len)
                    }
                };
                let result = match send.dtype() {
                    DType::F32 => {
                        let mut out = self.buffer(len);
                        self.comm.all_reduce_into(
                            send.as_slice::<f32>().map_err(|e| e.to_string())?,
                            &mut out[..],
                            SystemOperation::sum(),
                        );
                        if h.kind == Collective::Average {
                            let d = n as f32;
                            out.iter_mut().for_each(|x| *x /= d);
                        }
                        Value::new(send.shape(), out)
                    }
                    DType::I32 => self.reduce_int::<i32>(&send),
                    DType::I64 => self.reduce_int::<i64>(&send),
                    d => return Err(format!("allreduce takes numbers, not {}", d.tf_name())),
                };
                self.recycle(send);
                result.map_err(|e| e.to_string())
            }
            (Collective::Broadcast(root), Payload::Tensor(v)) => {
                let root = self.comm.process_at_rank(root as i32);
                match v.dtype() {
                    DType::F32 => bcast::<f32>(&root, v),
                    DType::I32 => bcast::<i32>(&root, v),
                    DType::I64 => bcast::<i64>(&root, v),
                    d => Err(format!("broadcast takes numbers, not {}", d.tf_name())),
                }
            }
            (Collective::Allgather, Payload::Tensor(v)) => match v.dtype() {
                DType::F32 => gather::<f32>(&self.comm, v),
                DType::I32 => gather::<i32>(&self.comm, v),
                DType::I64 => gather::<i64>(&self.comm, v),
                d => Err(format!("allgather takes numbers, not {}", d.tf_name())),
            },
            (k, Payload::Fused(_)) => Err(format!("{k:?} of a fused buffer")),
        }
    }

    fn reduce_int<T>(&self, send: &Value) -> rustflow_graph::Result<Value>
    where
        T: rustflow_graph::Element + Equivalence,
    {
        let s = send.as_slice::<T>()?;
        let mut out = vec![T::default(); s.len()];
        self.comm
            .all_reduce_into(s, &mut out[..], SystemOperation::sum());
        Value::new(send.shape(), out)
    }
}

fn bcast<T: rustflow_graph::Element + Equivalence>(
    root: &mpi::topology::Process<'_>,
    v: Value,
) -> Reply {
    let shape = v.shape().to_vec();
    let mut data = v.into_vec::<T>().map_err(|e| e.to_string())?;
    root.broadcast_into(&mut data[..]);
    Value::new(&shape, data).map_err(|e| e.to_string())
}

fn gather<T: rustflow_graph::Element + Equivalence>(comm: &SimpleCommunicator, v: Value) -> Reply {
    let size = comm.size() as usize;
    let rows = v.shape().first().copied().unwrap_or(1) as u64;
    let mut all_rows = vec![0u64; size];
    comm.all_gather_into(&rows, &mut all_rows[..]);
    let row_len: usize = v.shape().iter().skip(1).product();
    let counts: Vec<i32> = all_rows
        .iter()
        .map(|&r| (r as usize * row_len) as i32)
        .collect();
    let displs: Vec<i32> = counts
        .iter()
        .scan(0, |acc, &c| {
            let d = *acc;
            *acc += c;
            Some(d)
        })
        .collect();
    let total: u64 = all_rows.iter().sum();
    let mut out = vec![T::default(); total as usize * row_len];
    {
        let mut part = mpi::datatype::PartitionMut::new(&mut out[..], counts, &displs[..]);
        comm.all_gather_varcount_into(v.as_slice::<T>().map_err(|e| e.to_string())?, &mut part);
    }
    let mut shape = v.shape().to_vec();
    if shape.is_empty() {
        shape.push(total as usize);
    } else {
        shape[0] = total as usize;
    }
    Value::new(&shape, out).map_err(|e| e.to_string())
}

fn encode_orders(orders: &[Order], out: &mut Vec<u8>) {
    put_u64(out, orders.len() as u64);
    for o in orders {
        match o {
            Order::Run(n) => {
                out.push(0);
                put_str(out, n);
            }
            Order::Fail(n, m) => {
                out.push(1);
                put_str(out, n);
                put_str(out, m);
            }
        }
    }
}

fn decode_orders(bytes: &[u8]) -> Option<Vec<Order>> {
    let mut r = Reader(bytes);
    let n = r.u64()?;
    (0..n)
        .map(|_| match r.u8()? {
            0 => Some(Order::Run(r.str()?)),
            1 => Some(Order::Fail(r.str()?, r.str()?)),
            _ => None,
        })
        .collect()
}

fn dtype_code(d: DType) -> u8 {
    match d {
        DType::F32 => 0,
        DType::I32 => 1,
        DType::I64 => 2,
        DType::Bool => 3,
        DType::String => 4,
    }
}

fn dtype_from_code(c: u8) -> Option<DType> {
    Some(match c {
        0 => DType::F32,
        1 => DType::I32,
        2 => DType::I64,
        3 => DType::Bool,
        4 => DType::String,
        _ => return None,
    })
}

fn put_u64(out: &mut Vec<u8>, x: u64) {
    out.extend_from_slice(&x.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Reads the little-endian messages of this module.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u64()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_orders_survive_their_encoding() {
        let h = Header {
            name: "grads/fused_0".into(),
            kind: Collective::Broadcast(3),
            dtype: DType::I64,
            shape: vec![2, 0, 7],
            members: "a [2,7]".into(),
        };
        let mut buf = Vec::new();
        h.encode(&mut buf);
        assert_eq!(Header::decode(&mut Reader(&buf)), Some(h.clone()));
        assert_eq!(Header::decode(&mut Reader(&buf[..buf.len() - 1])), None);
        let mut other = h.clone();
        other.shape[0] = 5;
        assert!(!h.agrees(&other), "only an allgather's rows may differ");
        other.kind = Collective::Allgather;
        let mut gathered = h;
        gathered.kind = Collective::Allgather;
        assert!(gathered.agrees(&other));
        let mut buf = Vec::new();
        encode_orders(
            &[
                Order::Run("x".into()),
                Order::Fail("y".into(), "why".into()),
            ],
            &mut buf,
        );
        let back = decode_orders(&buf).unwrap();
        assert!(matches!(&back[0], Order::Run(n) if n == "x"));
        assert!(matches!(&back[1], Order::Fail(n, m) if n == "y" && m == "why"));
    }
}
