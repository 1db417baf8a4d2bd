//! `embedding_lookup`: rows of a table split into shards, picked by id
//! (`tf.nn.embedding_lookup`), composed of `gather`, `floormod`/`floordiv` and `select_v2`, so
//! its gradient (into every shard; repeated ids add) is theirs.

use crate::util::{arg_error, expect_dtype};
use crate::{
    add_n, cast, clip_by_norm, constant, equal, expand_dims, floordiv, floormod, gather, less,
    maximum, select_v2, shape, sub, Axes,
};
use rustflow_graph::{DType, Graph, Result, Shape, Tensor};
use std::str::FromStr;

/// How `embedding_lookup` spreads ids over the shards (TF's `partition_strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PartitionStrategy {
    /// `"mod"`: id `i` lives in shard `i % n`, row `i / n` (TensorFlow's default).
    #[default]
    Mod,
    /// `"div"`: ids are split into contiguous ranges, the first `total % n` shards holding one
    /// row more than the others.
    Div,
}

impl FromStr for PartitionStrategy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "mod" => Ok(Self::Mod),
            "div" => Ok(Self::Div),
            _ => Err(format!("unknown partition_strategy '{s}' (mod or div)")),
        }
    }
}

/// A scalar int64 constant.
fn int(g: &Graph, v: i64) -> Tensor {
    constant(g, v, "Const")
}

/// The number of rows of `p` as an int64 scalar: a constant when static, else read at run time.
fn rows(g: &Graph, p: &Tensor) -> Result<Tensor> {
    match p.shape().dim(0) {
        Some(n) => Ok(int(g, n as i64)),
        None => gather(&shape(p, DType::I64)?, &int(g, 0), 0),
    }
}

/// `(shard, row within the shard)` of every id (int64), as TensorFlow computes them.
fn partition(
    g: &Graph,
    params: &[&Tensor],
    ids: &Tensor,
    strategy: PartitionStrategy,
) -> Result<(Tensor, Tensor)> {
    let n = int(g, params.len() as i64);
    match strategy {
        PartitionStrategy::Mod => Ok((floormod(ids, &n)?, floordiv(ids, &n)?)),
        PartitionStrategy::Div => {
            let sizes = params
                .iter()
                .map(|p| rows(g, p))
                .collect::<Result<Vec<_>>>()?;
            let total = add_n(&sizes.iter().collect::<Vec<_>>())?;
            let per = floordiv(&total, &n)?;
            let extras = floormod(&total, &n)?;
            let one = int(g, 1);
            let per1 = crate::add(&per, &one)?;
            // With fewer rows than shards `per` is 0 and every valid id is in the first term.
            let per_or_1 = maximum(&per, &one)?;
            let rest = sub(ids, &extras)?;
            let shard = maximum(&floordiv(ids, &per1)?, &floordiv(&rest, &per_or_1)?)?;
            let in_extras = less(&shard, &extras)?;
            let row = select_v2(
                &in_extras,
                &floormod(ids, &per1)?,
                &floormod(&rest, &per_or_1)?,
            )?;
            Ok((shard, row))
        }
    }
}

/// The rows of the table `params` (a list of one or more shards of one dtype, equal in all
/// dimensions but the first) at `ids` (int32 or int64, any rank)
/// (`tf.nn.embedding_lookup(params, ids, partition_strategy, max_norm)`): the output's shape
/// is `ids.shape + params[0].shape[1:]`. With one shard this is `gather(params[0], ids)`; with
/// several, `partition_strategy` says which shard and row hold each id, as in TensorFlow
/// (`mod`: shard `id % n`; `div`: contiguous ranges, uneven sizes as TensorFlow splits them).
/// With `max_norm`, each looked-up row whose L2 norm exceeds it is scaled down to it. The
/// gradient reaches every shard, repeated ids adding up. An id outside its shard is a
/// run-time error naming the gather node.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::{embedding_lookup, PartitionStrategy};
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let a = placeholder(&g, DType::F32, shape![3, 4], "a");
/// let b = placeholder(&g, DType::F32, shape![2, 4], "b");
/// let ids = placeholder(&g, DType::I32, shape![?, 7], "ids");
/// let y = embedding_lookup(&[&a, &b], &ids, PartitionStrategy::Div, None).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,7,4]");
/// ```
pub fn embedding_lookup(
    params: &[&Tensor],
    ids: &Tensor,
    partition_strategy: PartitionStrategy,
    max_norm: Option<f32>,
) -> Result<Tensor> {
    let g = ids.graph();
    let op = "GatherV2";
    expect_dtype(g, "embedding_lookup", op, ids, &[DType::I32, DType::I64])?;
    let Some(first) = params.first() else {
        return Err(arg_error(
            g,
            "embedding_lookup",
            op,
            "embedding_lookup needs at least one params shard".into(),
        ));
    };
    for p in params {
        g.check_owns(p.graph(), &p.to_string())?;
        let (a, b) = (first.shape(), p.shape());
        let tail = |s: &Shape| s.dims().map(|d| Shape::new(d[1..].to_vec()));
        let compatible = match (tail(&a), tail(&b)) {
            (Some(x), Some(y)) => x.is_compatible(&y),
            _ => true,
        };
        if p.dtype() != first.dtype() || !compatible {
            return Err(arg_error(
                g,
                "embedding_lookup",
                op,
                format!(
                    "embedding_lookup's shards must share a dtype and all dimensions but the \
                     first: {first} is {} {a}, {p} is {} {b}",
                    first.dtype(),
                    p.dtype()
                ),
            ));
        }
    }
    let trailing = params
        .iter()
        .find_map(|p| p.shape().rank())
        .map(|r| r.saturating_sub(1));
    g.name_scope("embedding_lookup", |g| {
        let y = if let [only] = params {
            gather(only, ids, 0)?
        } else {
            let Some(trailing) = trailing else {
                return Err(arg_error(
                    g,
                    op,
                    op,
                    format!("embedding_lookup over several shards needs their rank: {first}"),
                ));
            };
            let ids = cast(ids, DType::I64)?;
            let (shard, row) = partition(g, params, &ids, partition_strategy)?;
            let zero = int(g, 0);
            let mut picked: Option<Tensor> = None;
            for (k, p) in params.iter().enumerate() {
                // A shard known to be empty holds no id (and has no row 0 to gather).
                if p.shape().dim(0) == Some(0) {
                    continue;
                }
                let here = equal(&shard, &int(g, k as i64))?;
                let rows_here = gather(p, &select_v2(&here, &row, &zero)?, 0)?;
                let mut mask = here;
                for _ in 0..trailing {
                    mask = expand_dims(&mask, -1)?;
                }
                picked = Some(match picked {
                    None => rows_here,
                    Some(acc) => select_v2(&mask, &rows_here, &acc)?,
                });
            }
            picked.ok_or_else(|| {
                arg_error(g, op, op, "embedding_lookup: every shard is empty".into())
            })?
        };
        match max_norm {
            None => Ok(y),
            Some(m) => {
                let ids_rank = ids.shape().rank();
                let axes = match (ids_rank, y.shape().rank()) {
                    (Some(i), Some(r)) => (i as i64..r as i64).collect::<Vec<_>>(),
                    _ => {
                        return Err(arg_error(
                            g,
                            op,
                            op,
                            "embedding_lookup with max_norm needs ids and params of known rank"
                                .into(),
                        ))
                    }
                };
                clip_by_norm(&y, m, Axes::List(axes))
            }
        }
    })
}
