//! Variables: `Variable`, `assign`, `assign_add`, `assign_sub`, `global_variables_initializer`.

use crate::util::{add, add1, arg_error};
use rustflow_graph::{
    fmt_dims, not_differentiable, Error, GradContext, Graph, KernelContext, NodeId, Op, OpKind,
    Operation, Result, Tensor, Value, VariableInfo,
};
use std::ops::Deref;
use std::sync::PoisonError;

/// The `VariableV2` op: its output is the session's current value of the variable.
#[derive(Debug)]
pub struct VariableOp {
    name: String,
    /// The variable read, when this node is a later read of another node's variable
    /// (`<var>/read`); `None` for the variable's own node.
    var: Option<NodeId>,
}

impl VariableOp {
    /// A read of variable `var` (named `name`) as a new node, for reads that must happen
    /// after a control dependency.
    pub(crate) fn reader(name: String, var: NodeId) -> Self {
        VariableOp {
            name,
            var: Some(var),
        }
    }
}

impl Op for VariableOp {
    fn op_type(&self) -> &'static str {
        "VariableV2"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Variable
    }
    fn reads_variables(&self) -> Vec<NodeId> {
        self.var.into_iter().collect()
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let slot = ctx.resources.variable(self.var.unwrap_or(ctx.node));
        let v = slot.read().unwrap_or_else(PoisonError::into_inner).clone();
        v.map(|v| vec![v]).ok_or_else(|| Error::Uninitialized {
            var: self.name.clone(),
        })
    }
}

/// A variable: a tensor whose value lives in a session and persists across runs.
/// It dereferences to the tensor that reads its current value.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{zeros, Variable};
/// let g = Graph::new();
/// let w = Variable::new(&zeros(&g, &[784, 10]).unwrap(), "W").unwrap();
/// assert_eq!(w.name(), "W:0");
/// assert_eq!(w.initializer().name(), "W/Assign");
/// ```
#[derive(Clone, Debug)]
pub struct Variable {
    value: Tensor,
    initializer: Operation,
    initial_value: Tensor,
}

impl Deref for Variable {
    type Target = Tensor;
    fn deref(&self) -> &Tensor {
        &self.value
    }
}

impl AsRef<Tensor> for Variable {
    fn as_ref(&self) -> &Tensor {
        &self.value
    }
}

impl Variable {
    /// A trainable variable initialized to `initial_value` (shape and dtype come from it).
    /// `name` defaults to `Variable`.
    pub fn new(initial_value: &Tensor, name: &str) -> Result<Variable> {
        Self::build(initial_value, name, true)
    }

    /// A variable outside `TRAINABLE_VARIABLES` (optimizer slots, counters).
    pub fn non_trainable(initial_value: &Tensor, name: &str) -> Result<Variable> {
        Self::build(initial_value, name, false)
    }

    fn build(initial_value: &Tensor, name: &str, trainable: bool) -> Result<Variable> {
        initial_value
            .graph()
            .without_control_dependencies(|_| Self::build_here(initial_value, name, trainable))
    }

    fn build_here(initial_value: &Tensor, name: &str, trainable: bool) -> Result<Variable> {
        let g = initial_value.graph();
        let name = g.unique_name(if name.is_empty() { "Variable" } else { name });
        let spec = initial_value.spec();
        if spec.shape.to_known().is_none() {
            return Err(arg_error(
                g,
                &format!("{name}/"),
                "VariableV2",
                format!(
                    "the initial value of a variable needs a fully known shape, got {}",
                    spec.shape
                ),
            ));
        }
        let value = add1(
            g,
            &format!("{name}/"),
            VariableOp {
                name: name.clone(),
                var: None,
            },
            &[],
            spec,
        )?;
        let initializer = g.name_scope(&format!("{name}/"), |g| {
            add(
                g,
                "Assign",
                AssignOp::new(&value, AssignMode::Set),
                &[initial_value],
                vec![value.spec()],
            )
        })?;
        g.register_variable(VariableInfo {
            node: value.node(),
            initializer: initializer.id(),
            trainable,
        });
        Ok(Variable {
            value,
            initializer,
            initial_value: initial_value.clone(),
        })
    }

    /// The operation that assigns the initial value (`W/Assign`).
    pub fn initializer(&self) -> &Operation {
        &self.initializer
    }

    /// The initial-value tensor.
    pub fn initial_value(&self) -> &Tensor {
        &self.initial_value
    }

    /// The variable's op name (`W`).
    pub fn op_name(&self) -> String {
        self.value.op().name()
    }

    /// The variable with node `node` of graph `g`, if that node is a variable.
    pub fn from_info(g: &Graph, info: &VariableInfo) -> Result<Variable> {
        let value = g.operation_by_name(&g.node(info.node).name)?.output(0)?;
        let initializer = g.operation_by_name(&g.node(info.initializer).name)?;
        let initial_value = initializer.inputs().remove(0);
        Ok(Variable {
            value,
            initializer,
            initial_value,
        })
    }

    /// An op that sets the variable to `value` and outputs the new value (`tf.assign`).
    pub fn assign(&self, value: &Tensor) -> Result<Tensor> {
        assign_op(self, value, AssignMode::Set)
    }

    /// An op that adds `delta` in place and outputs the new value (`tf.assign_add`).
    pub fn assign_add(&self, delta: &Tensor) -> Result<Tensor> {
        assign_op(self, delta, AssignMode::Add)
    }

    /// An op that subtracts `delta` in place and outputs the new value (`tf.assign_sub`).
    pub fn assign_sub(&self, delta: &Tensor) -> Result<Tensor> {
        assign_op(self, delta, AssignMode::Sub)
    }
}

/// How an assign op combines the old value with its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignMode {
    /// `Assign`: replace.
    Set,
    /// `AssignAdd`: add in place.
    Add,
    /// `AssignSub`: subtract in place.
    Sub,
}

/// `Assign`, `AssignAdd`, `AssignSub`: write a variable, output its new value.
#[derive(Debug)]
pub struct AssignOp {
    var: NodeId,
    var_name: String,
    shape: Vec<usize>,
    mode: AssignMode,
}

impl AssignOp {
    fn new(var: &Tensor, mode: AssignMode) -> Self {
        AssignOp {
            var: var.node(),
            var_name: var.op().name(),
            shape: var.shape().to_known().unwrap_or_default(),
            mode,
        }
    }
}

impl Op for AssignOp {
    fn op_type(&self) -> &'static str {
        match self.mode {
            AssignMode::Set => "Assign",
            AssignMode::Add => "AssignAdd",
            AssignMode::Sub => "AssignSub",
        }
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn reads_variables(&self) -> Vec<NodeId> {
        match self.mode {
            AssignMode::Set => vec![],
            _ => vec![self.var],
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.take_input(0);
        if x.shape() != self.shape.as_slice() {
            return Err(Error::Kernel(format!(
                "Assign requires shapes of both tensors to match. lhs shape= {} rhs shape= {}",
                fmt_dims(&self.shape),
                fmt_dims(x.shape())
            )));
        }
        let slot = ctx.resources.variable(self.var);
        let mut guard = slot.write().unwrap_or_else(PoisonError::into_inner);
        match self.mode {
            AssignMode::Set => *guard = Some(x),
            AssignMode::Add | AssignMode::Sub => {
                let Some(cur) = guard.as_mut() else {
                    return Err(Error::Uninitialized {
                        var: self.var_name.clone(),
                    });
                };
                let sign = if self.mode == AssignMode::Add { 1 } else { -1 };
                crate::math::kernels::accumulate(cur, &x, sign)?;
            }
        }
        Ok(vec![guard.clone().unwrap_or_else(|| Value::scalar(0f32))])
    }
    fn attrs(&self) -> String {
        format!("var={}", self.var_name)
    }
}

fn assign_op(var: &Variable, value: &Tensor, mode: AssignMode) -> Result<Tensor> {
    let g = var.graph();
    let op = AssignOp::new(var, mode);
    let name = op.op_type();
    if value.dtype() != var.dtype() || !value.shape().is_compatible(&var.shape()) {
        return Err(arg_error(
            g,
            name,
            name,
            format!(
                "Cannot assign value to variable '{}': Shape mismatch. The variable shape {} {}, and the assigned value shape {} {} are incompatible.",
                var.name(),
                var.shape(),
                var.dtype(),
                value.shape(),
                value.dtype()
            ),
        ));
    }
    add1(g, name, op, &[value], var.spec())
}

/// An op that runs after `ops` and does nothing (`tf.group`, `tf.no_op`).
#[derive(Debug)]
pub struct NoOp;

impl Op for NoOp {
    fn op_type(&self) -> &'static str {
        "NoOp"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn compute(&self, _ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![])
    }
}

/// An operation named `name` that runs all of `ops` (`tf.group`).
pub fn group(g: &Graph, ops: &[&Operation], name: &str) -> Result<Operation> {
    for o in ops {
        g.check_owns(o.graph(), &o.to_string())?;
    }
    let ids: Vec<NodeId> = ops.iter().map(|o| o.id()).collect();
    g.add_node(
        if name.is_empty() { "group_deps" } else { name },
        std::sync::Arc::new(NoOp),
        &[],
        &ids,
        vec![],
    )
}

/// An operation that does nothing, named `name` (default `NoOp`; `tf.no_op`): a target for
/// control dependencies.
pub fn no_op(g: &Graph, name: &str) -> Result<Operation> {
    g.add_node(
        if name.is_empty() { "NoOp" } else { name },
        std::sync::Arc::new(NoOp),
        &[],
        &[],
        vec![],
    )
}

/// One operation, `init`, that assigns every variable existing now its initial value
/// (`tf.global_variables_initializer()`); variables created later are not covered.
pub fn global_variables_initializer(g: &Graph) -> Result<Operation> {
    let inits: Vec<Operation> = g
        .global_variables()
        .iter()
        .map(|v| g.operation_by_name(&g.node(v.initializer).name))
        .collect::<Result<_>>()?;
    variables_initializer(g, &inits.iter().collect::<Vec<_>>(), "init")
}

/// One operation that runs the given initializers (`tf.variables_initializer`).
pub fn variables_initializer(
    g: &Graph,
    initializers: &[&Operation],
    name: &str,
) -> Result<Operation> {
    group(g, initializers, name)
}
