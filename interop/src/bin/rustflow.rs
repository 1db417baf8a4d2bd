//! `rustflow`: inspect, run and convert TensorFlow's files with rustflow.

use clap::{Parser, Subcommand};
use ndarray::ArrayD;
use ndarray_npy::{read_npy, write_npy};
use rustflow_graph::{Buffer, DType, Graph, Value};
use rustflow_interop::{import_graph_def, op_counts, parse_graph_def, ImportOptions};
use rustflow_proto::{collection_def::Kind, Message, MetaGraphDef};
use rustflow_runtime::bundle::{self, Bundle};
use rustflow_runtime::{FeedDict, Fetch, Session};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Parser)]
#[command(
    name = "rustflow",
    about = "Inspect, run and convert TensorFlow's files (GraphDefs, MetaGraphDefs, V2 checkpoints, safetensors)",
    after_help = "Examples:
  rustflow inspect frozen.pb
  rustflow inspect model.ckpt            (a V2 checkpoint prefix: every tensor with dtype and shape)
  rustflow inspect model.ckpt.meta
  rustflow run --graph frozen.pb --mnist-test 64=Placeholder --mnist-dir MNIST_data \\
      --feed Placeholder_2=1.0 --fetch logits --out logits.npy
  rustflow run --graph frozen.pb --feed x=images.npy --fetch output
  rustflow convert model.ckpt model.safetensors
  rustflow convert model.safetensors model.ckpt"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Node counts by op type of a GraphDef (.pb/.pbtxt) or MetaGraphDef (.meta), or every
    /// tensor of a checkpoint prefix or safetensors file with its dtype and shape.
    Inspect {
        /// The file (or checkpoint prefix).
        path: PathBuf,
    },
    /// Runs a GraphDef and writes or prints the fetched tensors.
    Run {
        /// The GraphDef (.pb or .pbtxt).
        #[arg(long)]
        graph: PathBuf,
        /// NAME=FILE.npy or NAME=NUMBER (a scalar of the placeholder's dtype; true or false
        /// for a bool), once per placeholder.
        #[arg(long)]
        feed: Vec<String>,
        /// N=NAME: the first N MNIST test images as [N, 784] floats into NAME.
        #[arg(long)]
        mnist_test: Option<String>,
        /// Where the MNIST files are (for --mnist-test).
        #[arg(long, default_value = "MNIST_data")]
        mnist_dir: PathBuf,
        /// Tensor names to fetch (`logits` or `logits:0`).
        #[arg(long, required = true)]
        fetch: Vec<String>,
        /// One .npy file per --fetch, in order; without it the values are printed.
        #[arg(long)]
        out: Vec<PathBuf>,
    },
    /// Converts between a TensorFlow V2 checkpoint prefix and a safetensors file.
    Convert {
        /// The source (`model.ckpt` or `model.safetensors`).
        src: PathBuf,
        /// The destination, of the other kind.
        dst: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rustflow: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Res<()> {
    match cli.command {
        Command::Inspect { path } => inspect(&path),
        Command::Run {
            graph,
            feed,
            mnist_test,
            mnist_dir,
            fetch,
            out,
        } => run_graph(
            &graph,
            &feed,
            mnist_test.as_deref(),
            &mnist_dir,
            &fetch,
            &out,
        ),
        Command::Convert { src, dst } => convert(&src, &dst),
    }
}

fn is_safetensors(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "safetensors")
}

/// A checkpoint prefix named directly or through its `.index` / `.data-*` file.
fn prefix_of(p: &Path) -> Option<PathBuf> {
    let s = p.to_string_lossy();
    let stripped = s
        .strip_suffix(".index")
        .or_else(|| s.find(".data-").map(|i| &s[..i]))
        .unwrap_or(&s);
    let prefix = PathBuf::from(stripped);
    bundle::exists(&prefix).then_some(prefix)
}

fn inspect(path: &Path) -> Res<()> {
    if let Some(prefix) = prefix_of(path) {
        let b = Bundle::open(&prefix)?;
        for e in b.entries() {
            let dt = rustflow_proto::text::data_type_name(e.dtype);
            println!(
                "tensor_name:  {}\n  dtype: {dt}  shape: {:?}",
                e.name, e.shape
            );
        }
        return Ok(());
    }
    if is_safetensors(path) {
        for (name, dtype, shape) in read_safetensors(path)?
            .iter()
            .map(|(n, v)| (n, v.dtype(), v.shape().to_vec()))
        {
            println!("tensor_name:  {name}\n  dtype: {dtype}  shape: {shape:?}");
        }
        return Ok(());
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "meta") {
        let meta = MetaGraphDef::decode(bytes.as_slice())
            .map_err(|e| format!("{}: not a MetaGraphDef: {e}", path.display()))?;
        let def = meta.graph_def.clone().unwrap_or_default();
        print_counts(&def);
        if let Some(s) = &meta.saver_def {
            println!(
                "saver: filename {} save {} restore {}",
                s.filename_tensor_name, s.save_tensor_name, s.restore_op_name
            );
        }
        for (name, c) in &meta.collection_def {
            let (kind, n) = match &c.kind {
                Some(Kind::NodeList(l)) => ("node_list", l.value.len()),
                Some(Kind::BytesList(l)) => ("bytes_list", l.value.len()),
                Some(Kind::Int64List(l)) => ("int64_list", l.value.len()),
                Some(Kind::FloatList(l)) => ("float_list", l.value.len()),
                Some(Kind::AnyList(l)) => ("any_list", l.value.len()),
                None => ("empty", 0),
            };
            println!("collection {name}: {kind} of {n}");
        }
        return Ok(());
    }
    let def = parse_graph_def(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    print_counts(&def);
    Ok(())
}

fn print_counts(def: &rustflow_proto::GraphDef) {
    let counts = op_counts(def);
    println!("{} nodes", def.node.len());
    for (op, n) in counts {
        println!("{n:6}  {op}");
    }
}

fn tensor_name(name: &str) -> String {
    if name.contains(':') {
        name.to_string()
    } else {
        format!("{name}:0")
    }
}

/// A `--feed NAME=NUMBER` scalar of the placeholder's dtype, if `s` is one.
fn scalar_feed(s: &str, dtype: DType) -> Option<Value> {
    match dtype {
        DType::F32 => s.parse::<f32>().ok().map(Value::scalar),
        DType::I32 => s.parse::<i32>().ok().map(Value::scalar),
        DType::I64 => s.parse::<i64>().ok().map(Value::scalar),
        DType::Bool => match s {
            "true" | "True" | "1" => Some(Value::scalar(true)),
            "false" | "False" | "0" => Some(Value::scalar(false)),
            _ => None,
        },
        DType::String => None,
    }
}

fn read_npy_value(path: &Path) -> Res<Value> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    if let Ok(a) = read_npy::<_, ArrayD<f32>>(path) {
        return Ok(Value::from(a));
    }
    if let Ok(a) = read_npy::<_, ArrayD<i32>>(path) {
        return Ok(Value::from(a));
    }
    if let Ok(a) = read_npy::<_, ArrayD<i64>>(path) {
        return Ok(Value::from(a));
    }
    match read_npy::<_, ArrayD<bool>>(path) {
        Ok(a) => Ok(Value::from(a)),
        Err(e) => Err(err(&e).into()),
    }
}

fn write_npy_value(path: &Path, v: &Value) -> Res<()> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let r = match v.dtype() {
        DType::F32 => write_npy(path, &v.to_array::<f32>()?),
        DType::I32 => write_npy(path, &v.to_array::<i32>()?),
        DType::I64 => write_npy(path, &v.to_array::<i64>()?),
        DType::Bool => write_npy(path, &v.to_array::<bool>()?),
        DType::String => return Err(err(&"string tensors cannot be written as .npy").into()),
    };
    r.map_err(|e| err(&e).into())
}

fn run_graph(
    graph: &Path,
    feeds: &[String],
    mnist: Option<&str>,
    mnist_dir: &Path,
    fetch: &[String],
    out: &[PathBuf],
) -> Res<()> {
    if !out.is_empty() && out.len() != fetch.len() {
        return Err(format!(
            "{} --out files for {} --fetch names: give one per fetch",
            out.len(),
            fetch.len()
        )
        .into());
    }
    let bytes = std::fs::read(graph).map_err(|e| format!("{}: {e}", graph.display()))?;
    let def = parse_graph_def(&bytes).map_err(|e| format!("{}: {e}", graph.display()))?;
    let g = Graph::new();
    import_graph_def(&g, &def, &ImportOptions::default())
        .map_err(|e| format!("{}: {e}", graph.display()))?;
    let mut fd = FeedDict::new();
    for f in feeds {
        let (name, value) = f
            .split_once('=')
            .ok_or_else(|| format!("--feed {f}: expected NAME=FILE.npy or NAME=NUMBER"))?;
        let t = g.tensor_by_name(&tensor_name(name))?;
        let v = match scalar_feed(value, t.dtype()) {
            Some(v) => v,
            None => read_npy_value(Path::new(value))?,
        };
        fd.insert(&t, v);
    }
    if let Some(spec) = mnist {
        let (n, name) = spec
            .split_once('=')
            .ok_or_else(|| format!("--mnist-test {spec}: expected N=NAME"))?;
        let n: usize = n
            .parse()
            .map_err(|_| format!("--mnist-test {spec}: N must be a number"))?;
        let data = rustflow_mnist::read_data_sets(mnist_dir, true)
            .map_err(|e| format!("{}: {e}", mnist_dir.display()))?;
        if n > data.test.num_examples() {
            return Err(format!(
                "--mnist-test {n}: the test set has {} images",
                data.test.num_examples()
            )
            .into());
        }
        fd.insert(
            &g.tensor_by_name(&tensor_name(name))?,
            data.test.images_rows(0..n),
        );
    }
    let fetches = fetch
        .iter()
        .map(|f| Ok(Fetch::from(g.tensor_by_name(&tensor_name(f))?)))
        .collect::<Res<Vec<_>>>()?;
    let mut outputs = Session::new(&g).run(&fetches, &fd)?;
    for (i, name) in fetch.iter().enumerate() {
        let v = outputs.take(i)?;
        match out.get(i) {
            Some(path) => write_npy_value(path, &v)?,
            None => println!("{name}: shape {:?}\n{:?}", v.shape(), v.to_f64_vec()),
        }
    }
    Ok(())
}

fn read_safetensors(path: &Path) -> Res<Vec<(String, Value)>> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| format!("{}: {e:?}", path.display()))?;
    let mut out = Vec::new();
    for (name, t) in st.tensors() {
        let shape = t.shape().to_vec();
        let d = t.data();
        let v = match t.dtype() {
            safetensors::Dtype::F32 => Value::new(
                &shape,
                d.chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
                    .collect(),
            )?,
            safetensors::Dtype::I32 => Value::new(
                &shape,
                d.chunks_exact(4)
                    .map(|c| i32::from_le_bytes(c.try_into().expect("4")))
                    .collect(),
            )?,
            safetensors::Dtype::I64 => Value::new(
                &shape,
                d.chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().expect("8")))
                    .collect(),
            )?,
            safetensors::Dtype::BOOL => Value::new(&shape, d.iter().map(|&b| b != 0).collect())?,
            other => {
                return Err(format!(
                    "{}: tensor '{name}' has dtype {other:?}, which rustflow does not have",
                    path.display()
                )
                .into())
            }
        };
        out.push((name, v));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn write_safetensors(path: &Path, tensors: &[(String, Value)]) -> Res<()> {
    let bytes: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, v)| {
            let (d, b): (_, Vec<u8>) = match v.buffer() {
                Buffer::F32(x) => (
                    safetensors::Dtype::F32,
                    x.iter().flat_map(|y| y.to_le_bytes()).collect(),
                ),
                Buffer::I32(x) => (
                    safetensors::Dtype::I32,
                    x.iter().flat_map(|y| y.to_le_bytes()).collect(),
                ),
                Buffer::I64(x) => (
                    safetensors::Dtype::I64,
                    x.iter().flat_map(|y| y.to_le_bytes()).collect(),
                ),
                Buffer::Bool(x) => (
                    safetensors::Dtype::BOOL,
                    x.iter().map(|&y| u8::from(y)).collect(),
                ),
                Buffer::String(_) => {
                    return Err(format!("tensor '{n}': safetensors has no strings"))
                }
            };
            Ok((n.clone(), d, v.shape().to_vec(), b))
        })
        .collect::<Result<_, String>>()?;
    let views = bytes
        .iter()
        .map(|(n, d, s, b)| {
            Ok((
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b)
                    .map_err(|e| format!("{n}: {e:?}"))?,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let out = safetensors::serialize(views, &None).map_err(|e| format!("{e:?}"))?;
    std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn convert(src: &Path, dst: &Path) -> Res<()> {
    let tensors = if let Some(prefix) = prefix_of(src) {
        let b = Bundle::open(&prefix)?;
        b.entries()
            .iter()
            .map(|e| Ok((e.name.clone(), b.read(&e.name)?)))
            .collect::<Res<Vec<_>>>()?
    } else if is_safetensors(src) {
        read_safetensors(src)?
    } else {
        return Err(format!(
            "{}: neither a checkpoint prefix (no {}) nor a .safetensors file",
            src.display(),
            bundle::index_path(src).display()
        )
        .into());
    };
    if is_safetensors(dst) {
        write_safetensors(dst, &tensors)
    } else {
        bundle::write(dst, &tensors)?;
        Ok(())
    }
}
