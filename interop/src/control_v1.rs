//! TF1's control flow (`Switch`/`Merge` conds; `Enter`/`Merge`/`Switch`/`LoopCond`/
//! `NextIteration`/`Exit` loop frames) rebuilt as the functional `If` and `While` nodes that
//! rustflow's `cond` and `while_loop` import: [`lower`] rewrites the GraphDef before anything
//! is imported.
//!
//! A loop is one frame (its `Enter` nodes' `frame_name`): each loop variable enters through a
//! non-constant `Enter`, meets its `NextIteration` at a `Merge`, and leaves through the
//! `Switch` on the `LoopCond` (port 1 into the body, port 0 to its `Exit`); a constant
//! `Enter` brings in a tensor from outside. The cond function is what lies between the
//! merges and the `LoopCond`; the body what lies between the switches and the
//! `NextIteration`s. A cond's `Merge` joins a false and a true branch, each what lies behind
//! the `Switch` outputs (port 0 or 1) on one predicate. Inner constructs are rebuilt first.

use crate::functions::{Body, Functions};
use crate::import::parse_input;
use rustflow_graph::{Error, Result};
use rustflow_proto::{
    attr_value::{ListValue, Value as Attr},
    AttrValue, GraphDef, NameAttrList, NodeDef,
};
use std::collections::{HashMap, HashSet};

/// The op types of TF1's control flow.
const V1: &[&str] = &[
    "Switch",
    "Merge",
    "Enter",
    "Exit",
    "NextIteration",
    "LoopCond",
    "RefSwitch",
    "RefMerge",
    "RefEnter",
    "RefExit",
    "RefNextIteration",
];

pub(crate) fn is_v1(op: &str) -> bool {
    V1.contains(&op)
}

fn error(n: &NodeDef, msg: impl Into<String>) -> Error {
    Error::InvalidArgument {
        node: n.name.clone(),
        op: n.op.clone(),
        msg: msg.into(),
    }
}

fn func(name: &str) -> AttrValue {
    AttrValue {
        value: Some(Attr::Func(NameAttrList {
            name: name.to_string(),
            ..Default::default()
        })),
    }
}

/// `"node:k"` of an input string (data inputs only).
fn tensor_ref(s: &str) -> String {
    let (n, k, _) = parse_input(s);
    format!("{n}:{k}")
}

/// Rewrites `def`'s TF1 control flow as `If`/`While` nodes whose functions it adds to
/// `functions`; an unchanged copy when there is none. A construct it cannot rebuild is an
/// error naming one of its nodes.
pub fn lower(def: &GraphDef, functions: &mut Functions) -> Result<GraphDef> {
    if !def.node.iter().any(|n| is_v1(&n.op)) {
        return Ok(def.clone());
    }
    let mut l = Lowering {
        nodes: def.node.clone(),
        functions,
    };
    while l.step()? {}
    l.remove_dangling();
    if let Some(n) = l.nodes.iter().find(|n| is_v1(&n.op)) {
        return Err(error(
            n,
            "TF1 control flow that cannot be rebuilt as If/While (a loop or cond whose \
             tensors are used outside it, e.g. by TF1 gradients of control flow)",
        ));
    }
    Ok(GraphDef {
        node: l.nodes,
        ..def.clone()
    })
}

struct Lowering<'a> {
    nodes: Vec<NodeDef>,
    functions: &'a mut Functions,
}

/// How a walk's members refer to a node where it stopped.
struct Stops {
    /// `(stop node, port)` of each data reference, in order of first use.
    data: Vec<(String, usize)>,
}

impl Lowering<'_> {
    fn index(&self) -> HashMap<&str, usize> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect()
    }

    fn node(&self, name: &str) -> Option<&NodeDef> {
        self.nodes.iter().find(|n| n.name == name)
    }

    fn unique(&self, base: &str) -> String {
        let taken = |s: &str| self.node(s).is_some() || self.functions.contains_key(s);
        let mut name = base.to_string();
        let mut k = 1;
        while taken(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        name
    }

    /// Rebuilds one construct whose inner ones are rebuilt already; false when none is left.
    fn step(&mut self) -> Result<bool> {
        let merges: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| matches!(n.op.as_str(), "Merge" | "RefMerge"))
            .map(|n| n.name.clone())
            .collect();
        for m in &merges {
            if self.try_cond(m)? {
                return Ok(true);
            }
        }
        let mut frames: Vec<String> = vec![];
        for n in self
            .nodes
            .iter()
            .filter(|n| matches!(n.op.as_str(), "Enter" | "RefEnter"))
        {
            let f = match n.attr.get("frame_name").and_then(|a| a.value.as_ref()) {
                Some(Attr::S(s)) => String::from_utf8_lossy(s).into_owned(),
                _ => return Err(error(n, "an Enter without a frame_name")),
            };
            if !frames.contains(&f) {
                frames.push(f);
            }
        }
        for f in &frames {
            if self.try_while(f)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The nodes (indices, in GraphDef order) reached backward from `starts` through data
    /// and control inputs without entering a node `stop` accepts, and how they refer to
    /// those; `None` if the walk meets TF1 control flow not rebuilt yet.
    fn walk(
        &self,
        starts: &[String],
        stop: &dyn Fn(&NodeDef) -> bool,
    ) -> Option<(Vec<usize>, Stops)> {
        let index = self.index();
        let mut seen = HashSet::new();
        let mut stops = Stops { data: vec![] };
        let mut stack: Vec<String> = starts.to_vec();
        while let Some(s) = stack.pop() {
            let (name, port, control) = parse_input(&s);
            let &i = index.get(name)?;
            let n = &self.nodes[i];
            if stop(n) {
                if !control && !stops.data.contains(&(name.to_string(), port)) {
                    stops.data.push((name.to_string(), port));
                }
                continue;
            }
            if is_v1(&n.op) {
                return None;
            }
            if seen.insert(i) {
                stack.extend(n.input.iter().cloned());
            }
        }
        let mut members: Vec<usize> = seen.into_iter().collect();
        members.sort_unstable();
        Some((members, stops))
    }

    /// A function of `members` (and `starts` as its results), whose references to stop
    /// nodes `rename` maps to argument names (`None`: dropped, for control inputs).
    fn body(
        &self,
        args: &[String],
        members: &[usize],
        starts: &[String],
        rename: &dyn Fn(&str) -> Result<Option<String>>,
    ) -> Result<Body> {
        // `None`: dropped (a control input on a stop node).
        let map = |s: &String| -> Result<Option<String>> {
            Ok(match rename(s)? {
                Some(_) if s.starts_with('^') => None,
                Some(arg) => Some(format!("{arg}:0")),
                None => Some(s.clone()),
            })
        };
        let mut nodes = vec![];
        for &i in members {
            let n = &self.nodes[i];
            let mut input = vec![];
            for s in &n.input {
                if let Some(s) = map(s)? {
                    input.push(s);
                }
            }
            nodes.push(NodeDef { input, ..n.clone() });
        }
        let rets = starts
            .iter()
            .map(|s| Ok(tensor_ref(&map(s)?.unwrap_or_else(|| s.clone()))))
            .collect::<Result<_>>()?;
        Ok(Body {
            args: args.to_vec(),
            nodes,
            rets,
        })
    }

    /// Removes `gone` (node names) except those still read by a node that stays, and
    /// replaces each `(name, tensor, dtype attr)` of `outputs` by an `Identity` of `tensor`.
    fn replace(
        &mut self,
        mut gone: HashSet<String>,
        outputs: Vec<(String, String, Option<AttrValue>)>,
        add: NodeDef,
    ) {
        for (name, _, _) in &outputs {
            gone.insert(name.clone());
        }
        loop {
            let kept: Vec<String> = self
                .nodes
                .iter()
                .filter(|n| !gone.contains(&n.name))
                .flat_map(|n| n.input.iter().map(|i| parse_input(i).0.to_string()))
                .filter(|i| gone.contains(i) && !outputs.iter().any(|(o, _, _)| o == i))
                .collect();
            if kept.is_empty() {
                break;
            }
            for k in kept {
                gone.remove(&k);
            }
        }
        let mut nodes: Vec<NodeDef> = vec![add];
        for n in std::mem::take(&mut self.nodes) {
            match outputs.iter().find(|(o, _, _)| *o == n.name) {
                Some((name, tensor, t)) => nodes.push(NodeDef {
                    name: name.clone(),
                    op: "Identity".into(),
                    input: vec![tensor.clone()],
                    device: n.device.clone(),
                    attr: t.iter().map(|t| ("T".to_string(), t.clone())).collect(),
                }),
                None if gone.contains(&n.name) => {}
                None => nodes.push(n),
            }
        }
        self.nodes = nodes;
    }

    /// Members that depend on a stop node (the others stay outside as well).
    fn dependent(&self, members: &[usize], stops: &HashSet<String>) -> HashSet<String> {
        let mut dep: HashSet<String> = stops.clone();
        // Members are in GraphDef order, which need not be topological: iterate to a fixpoint.
        loop {
            let before = dep.len();
            for &i in members {
                let n = &self.nodes[i];
                if n.input.iter().any(|s| dep.contains(parse_input(s).0)) {
                    dep.insert(n.name.clone());
                }
            }
            if dep.len() == before {
                return dep;
            }
        }
    }

    /// The tensor a predicate stands for, through `Identity` nodes.
    fn canonical(&self, s: &str) -> String {
        let mut s = tensor_ref(s);
        while let Some(n) = self.node(parse_input(&s).0) {
            match (n.op.as_str(), n.input.first()) {
                ("Identity", Some(i)) if !i.starts_with('^') => s = tensor_ref(i),
                _ => break,
            }
        }
        s
    }

    /// Rebuilds the cond joined by the `Merge` named `m` as an `If`.
    fn try_cond(&mut self, m: &str) -> Result<bool> {
        let merge = self.node(m).expect("listed").clone();
        let data: Vec<String> = merge
            .input
            .iter()
            .filter(|i| !i.starts_with('^'))
            .cloned()
            .collect();
        let is_loop = data.iter().any(|i| {
            self.node(parse_input(i).0).is_some_and(|n| {
                matches!(
                    n.op.as_str(),
                    "Enter" | "RefEnter" | "NextIteration" | "RefNextIteration"
                )
            })
        });
        if is_loop {
            return Ok(false);
        }
        if data.len() != 2 {
            return Err(error(
                &merge,
                format!("a cond's Merge with {} inputs (2 expected)", data.len()),
            ));
        }
        let is_switch = |n: &NodeDef| matches!(n.op.as_str(), "Switch" | "RefSwitch");
        let mut branches = vec![];
        for start in &data {
            let Some(w) = self.walk(std::slice::from_ref(start), &is_switch) else {
                return Ok(false);
            };
            branches.push(w);
        }
        let mut pred = None;
        let mut sides = vec![];
        for (_, stops) in &branches {
            let mut ports: Vec<usize> = stops.data.iter().map(|(_, p)| *p).collect();
            ports.dedup();
            for (s, _) in &stops.data {
                let sw = self.node(s).expect("walked");
                let p = self.canonical(sw.input.get(1).map_or("", String::as_str));
                if pred.get_or_insert_with(|| p.clone()) != &p {
                    return Err(error(&merge, "a Merge of branches on different predicates"));
                }
            }
            match ports[..] {
                [p] if ports.iter().all(|&q| q == p) && p < 2 => sides.push(p),
                _ => {
                    return Err(error(
                        &merge,
                        "a Merge input that is not one branch of a cond",
                    ))
                }
            }
        }
        let (Some(pred), &[f, t]) = (pred, &sides[..]) else {
            return Err(error(
                &merge,
                "a Merge input that is not one branch of a cond",
            ));
        };
        if f == t {
            return Err(error(
                &merge,
                "both inputs of the Merge come from the same branch",
            ));
        }
        // Arguments: the switched tensors, in order of first use.
        let mut args: Vec<String> = vec![];
        let mut switched: HashMap<String, usize> = HashMap::new();
        for (_, stops) in &branches {
            for (s, _) in &stops.data {
                let sw = self.node(s).expect("walked");
                let x = tensor_ref(&sw.input[0]);
                let k = args.iter().position(|a| *a == x).unwrap_or_else(|| {
                    args.push(x);
                    args.len() - 1
                });
                switched.insert(s.clone(), k);
            }
        }
        let names: Vec<String> = (0..args.len()).map(|k| format!("__arg{k}")).collect();
        let if_name = self.unique(&format!("{m}/If"));
        let mut funcs = [String::new(), String::new()];
        let mut gone = HashSet::new();
        for (b, (members, stops)) in branches.iter().enumerate() {
            let side = sides[b];
            let rename = |s: &str| -> Result<Option<String>> {
                let (n, port, control) = parse_input(s);
                match switched.get(n) {
                    Some(_) if control => Ok(Some(String::new())),
                    Some(&k) if port == side => Ok(Some(names[k].clone())),
                    Some(_) => Err(error(
                        &merge,
                        format!("branch {side} reads '{s}' of the other branch"),
                    )),
                    None if self.node(n).is_some_and(is_switch) => Ok(Some(String::new())),
                    None => Ok(None),
                }
            };
            let body = self.body(&names, members, &data[b..=b], &rename)?;
            let fname = self.unique(&format!("{if_name}_{}", ["else", "then"][side]));
            self.functions.insert(fname.clone(), body);
            funcs[side] = fname;
            let stop_names: HashSet<String> = stops.data.iter().map(|(s, _)| s.clone()).collect();
            gone.extend(
                self.dependent(members, &stop_names)
                    .into_iter()
                    .filter(|n| !stop_names.contains(n)),
            );
        }
        let mut inputs = vec![pred];
        inputs.extend(args);
        let t = merge.attr.get("T").cloned();
        let mut attr = std::collections::BTreeMap::new();
        attr.insert("else_branch".to_string(), func(&funcs[0]));
        attr.insert("then_branch".to_string(), func(&funcs[1]));
        if let Some(Attr::Type(d)) = t.as_ref().and_then(|t| t.value.clone()) {
            let list = ListValue {
                r#type: vec![d],
                ..Default::default()
            };
            attr.insert(
                "Tout".to_string(),
                AttrValue {
                    value: Some(Attr::List(list)),
                },
            );
        }
        let node = NodeDef {
            name: if_name.clone(),
            op: "If".into(),
            input: inputs,
            device: merge.device.clone(),
            attr,
        };
        self.replace(gone, vec![(m.to_string(), format!("{if_name}:0"), t)], node);
        Ok(true)
    }

    /// Rebuilds the loop of frame `frame` as a `While`.
    fn try_while(&mut self, frame: &str) -> Result<bool> {
        let in_frame = |n: &NodeDef| {
            matches!(n.op.as_str(), "Enter" | "RefEnter")
                && matches!(n.attr.get("frame_name").and_then(|a| a.value.as_ref()),
                    Some(Attr::S(s)) if s == frame.as_bytes())
        };
        let enters: Vec<NodeDef> = self.nodes.iter().filter(|n| in_frame(n)).cloned().collect();
        let constant = |n: &NodeDef| {
            matches!(
                n.attr.get("is_constant").and_then(|a| a.value.as_ref()),
                Some(Attr::B(true))
            )
        };
        let (consts, vars): (Vec<NodeDef>, Vec<NodeDef>) = enters.into_iter().partition(constant);
        let first = vars.first().ok_or_else(|| Error::InvalidArgument {
            node: frame.to_string(),
            op: "Enter".into(),
            msg: "a loop frame without loop variables".into(),
        })?;
        let reads = |n: &NodeDef, src: &str, port: usize| {
            n.input.iter().any(|i| {
                let (s, p, c) = parse_input(i);
                s == src && p == port && !c
            })
        };
        let find = |op: &[&str], src: &str, port: usize, what: &str, e: &NodeDef| {
            self.nodes
                .iter()
                .find(|n| op.contains(&n.op.as_str()) && reads(n, src, port))
                .cloned()
                .ok_or_else(|| error(e, format!("a loop variable without its {what}")))
        };
        let (mut merges, mut nexts, mut switches, mut exits) = (vec![], vec![], vec![], vec![]);
        for e in &vars {
            let m = find(&["Merge", "RefMerge"], &e.name, 0, "Merge", e)?;
            let next = m
                .input
                .iter()
                .find_map(|i| {
                    self.node(parse_input(i).0)
                        .filter(|n| matches!(n.op.as_str(), "NextIteration" | "RefNextIteration"))
                })
                .cloned()
                .ok_or_else(|| error(&m, "a loop Merge without a NextIteration"))?;
            let s = find(&["Switch", "RefSwitch"], &m.name, 0, "Switch", &m)?;
            exits.push(find(&["Exit", "RefExit"], &s.name, 0, "Exit", &s).ok());
            merges.push(m);
            nexts.push(next);
            switches.push(s);
        }
        let loop_cond = parse_input(switches[0].input.get(1).map_or("", String::as_str))
            .0
            .to_string();
        let lc = self
            .node(&loop_cond)
            .filter(|n| n.op == "LoopCond")
            .cloned()
            .ok_or_else(|| {
                error(
                    &switches[0],
                    "a loop Switch whose predicate is not a LoopCond",
                )
            })?;
        if switches
            .iter()
            .any(|s| parse_input(s.input.get(1).map_or("", String::as_str)).0 != loop_cond)
        {
            return Err(error(&lc, "loop variables switched on different LoopConds"));
        }
        let names: Vec<String> = (0..vars.len())
            .map(|k| format!("__v{k}"))
            .chain((0..consts.len()).map(|k| format!("__c{k}")))
            .collect();
        let merge_k: HashMap<&str, usize> = merges
            .iter()
            .enumerate()
            .map(|(k, m)| (m.name.as_str(), k))
            .collect();
        let switch_k: HashMap<&str, usize> = switches
            .iter()
            .enumerate()
            .map(|(k, m)| (m.name.as_str(), k))
            .collect();
        let const_k: HashMap<&str, usize> = consts
            .iter()
            .enumerate()
            .map(|(k, c)| (c.name.as_str(), vars.len() + k))
            .collect();
        let cond_start = vec![lc
            .input
            .first()
            .cloned()
            .ok_or_else(|| error(&lc, "no input"))?];
        let body_starts: Vec<String> = nexts
            .iter()
            .map(|n| n.input.first().cloned().ok_or_else(|| error(n, "no input")))
            .collect::<Result<_>>()?;
        let cond_stop = |n: &NodeDef| {
            merge_k.contains_key(n.name.as_str()) || const_k.contains_key(n.name.as_str())
        };
        let body_stop = |n: &NodeDef| {
            switch_k.contains_key(n.name.as_str()) || const_k.contains_key(n.name.as_str())
        };
        let (Some((cond_members, _)), Some((body_members, _))) = (
            self.walk(&cond_start, &cond_stop),
            self.walk(&body_starts, &body_stop),
        ) else {
            return Ok(false);
        };
        let n_vars = vars.len();
        let rename_in =
            |s: &str, by: &HashMap<&str, usize>, port: usize| -> Result<Option<String>> {
                let (n, p, control) = parse_input(s);
                match by.get(n).or_else(|| const_k.get(n)) {
                    Some(_) if control => Ok(Some(String::new())),
                    Some(&k) if p == port || k >= n_vars => Ok(Some(names[k].clone())),
                    Some(_) => Err(Error::InvalidArgument {
                        node: n.to_string(),
                        op: "Switch".into(),
                        msg: format!("the loop body reads '{s}', the loop's exit"),
                    }),
                    None => Ok(None),
                }
            };
        let cond = self.body(&names, &cond_members, &cond_start, &|s| {
            rename_in(s, &merge_k, 0)
        })?;
        let mut body = self.body(&names, &body_members, &body_starts, &|s| {
            rename_in(s, &switch_k, 1)
        })?;
        body.rets
            .extend(names[vars.len()..].iter().map(|c| format!("{c}:0")));
        let scope = lc.name.rsplit_once('/').map_or("", |(s, _)| s);
        let while_name = self.unique(&if scope.is_empty() {
            "While".to_string()
        } else {
            format!("{scope}/While")
        });
        let (cname, bname) = (
            self.unique(&format!("{while_name}_cond")),
            self.unique(&format!("{while_name}_body")),
        );
        self.functions.insert(cname.clone(), cond);
        self.functions.insert(bname.clone(), body);
        // The frame: what its Enter nodes reach, up to the Exits (including what the loop
        // computes and does not use, such as a rebuilt cond's predicate).
        let frame_nodes = vars
            .iter()
            .chain(&consts)
            .chain(&merges)
            .chain(&nexts)
            .chain(&switches);
        let mut gone: HashSet<String> = frame_nodes.map(|n| n.name.clone()).collect();
        gone.insert(lc.name.clone());
        let exit_names: HashSet<&str> = exits.iter().flatten().map(|x| x.name.as_str()).collect();
        loop {
            let more: Vec<String> = self
                .nodes
                .iter()
                .filter(|n| !gone.contains(&n.name) && !exit_names.contains(n.name.as_str()))
                .filter(|n| n.input.iter().any(|i| gone.contains(parse_input(i).0)))
                .map(|n| n.name.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            gone.extend(more);
        }
        let types: Vec<i32> = vars
            .iter()
            .chain(&consts)
            .map(|e| match e.attr.get("T").and_then(|a| a.value.as_ref()) {
                Some(Attr::Type(d)) => *d,
                _ => 0,
            })
            .collect();
        let mut attr = std::collections::BTreeMap::new();
        attr.insert("cond".to_string(), func(&cname));
        attr.insert("body".to_string(), func(&bname));
        attr.insert(
            "T".to_string(),
            AttrValue {
                value: Some(Attr::List(ListValue {
                    r#type: types,
                    ..Default::default()
                })),
            },
        );
        if let Some(p) = first.attr.get("parallel_iterations") {
            attr.insert("parallel_iterations".to_string(), p.clone());
        }
        let inputs: Vec<String> = vars
            .iter()
            .chain(&consts)
            .map(|e| e.input[0].clone())
            .collect();
        let node = NodeDef {
            name: while_name.clone(),
            op: "While".into(),
            input: inputs,
            device: first.device.clone(),
            attr,
        };
        let outputs = exits
            .iter()
            .enumerate()
            .filter_map(|(k, x)| {
                x.as_ref().map(|x| {
                    (
                        x.name.clone(),
                        format!("{while_name}:{k}"),
                        x.attr.get("T").cloned(),
                    )
                })
            })
            .collect();
        let enters: Vec<String> = vars.iter().map(|e| e.name.clone()).collect();
        self.replace(gone, outputs, node);
        if let Some(e) = enters.iter().find_map(|e| self.node(e)) {
            return Err(error(
                e,
                format!("a tensor of loop frame '{frame}' is read outside the loop (as TF1's gradients of loops do)"),
            ));
        }
        Ok(true)
    }

    /// Removes what rebuilding leaves unread: `Switch` nodes and readers of their outputs
    /// (a cond's pivots) that nothing reads.
    fn remove_dangling(&mut self) {
        loop {
            let read: HashSet<String> = self
                .nodes
                .iter()
                .flat_map(|n| n.input.iter().map(|i| parse_input(i).0.to_string()))
                .collect();
            let switches: HashSet<&str> = self
                .nodes
                .iter()
                .filter(|n| matches!(n.op.as_str(), "Switch" | "RefSwitch"))
                .map(|n| n.name.as_str())
                .collect();
            let dangling: HashSet<String> = self
                .nodes
                .iter()
                .filter(|n| !read.contains(&n.name))
                .filter(|n| {
                    switches.contains(n.name.as_str())
                        || n.input.iter().any(|i| switches.contains(parse_input(i).0))
                })
                .map(|n| n.name.clone())
                .collect();
            if dangling.is_empty() {
                return;
            }
            self.nodes.retain(|n| !dangling.contains(&n.name));
        }
    }
}
