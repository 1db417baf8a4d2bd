//! Golden cases of optimizer trajectories and end-to-end models (cifar_tiny, batchnorm_mlp_tiny, lstm_tiny).

use super::*;
use rustflow::train::{ExponentialMovingAverage, Optimizer};

/// Builds the case's op on the placeholders `x` (named after its inputs); `None` when the
/// op is not one of this module's.
pub fn build(c: &Case, g: &Graph, x: &BTreeMap<String, Tensor>) -> rustflow::Result<Option<Built>> {
    let _ = (c, g, x);
    Ok(None)
}

/// Runs a case that is not a plain op case (its own format); `None` when it is not one of
/// this module's.
pub fn run(c: &Case) -> Option<Result<(), String>> {
    match c.op.as_str() {
        "optimizer" => Some(run_optimizer(c)),
        "batchnorm_mlp_tiny" => Some(run_batchnorm_mlp_tiny(c)),
        // As TensorFlow made it (static_rnn), and through dynamic_rnn's while_loop.
        "lstm_tiny" => Some(run_lstm_tiny(c, false).and_then(|()| run_lstm_tiny(c, true))),
        _ => None,
    }
}

/// The (outputs, grads) tolerances of this module's ops, from WAVE2.md.
pub fn tolerance(op: &str) -> Option<((f64, f64), (f64, f64))> {
    match op {
        "lstm_tiny" | "cifar_tiny" | "batchnorm_mlp_tiny" => Some(((1e-4, 1e-5), (1e-3, 1e-5))),
        _ => None,
    }
}

fn e(e: rustflow::Error) -> String {
    e.to_string()
}

/// The case's optimizer, its learning rate a schedule of `global_step` when the case decays it.
fn optimizer(c: &Case, global_step: &Tensor) -> Result<(Box<dyn Optimizer>, Tensor), String> {
    let g = global_step.graph();
    let f = |k: &str| {
        c.attrs[k]
            .as_f64()
            .map(|v| v as f32)
            .ok_or(format!("attr {k}"))
    };
    let b = |k: &str| c.attrs[k].as_bool().unwrap_or(false);
    let lr = match c.attrs["decay_steps"].as_f64() {
        Some(steps) => train::exponential_decay(
            f("learning_rate")?,
            global_step,
            steps as f32,
            f("decay_rate")?,
            b("staircase"),
        )
        .map_err(e)?,
        None => g.constant(f("learning_rate")?),
    };
    let opt: Box<dyn Optimizer> = match attr_str(c, "optimizer") {
        "GradientDescent" => Box::new(train::GradientDescentOptimizer::new(&lr)),
        "Momentum" => Box::new(
            train::MomentumOptimizer::new(&lr, f("momentum")?).with_nesterov(b("use_nesterov")),
        ),
        "Adam" => Box::new(
            train::AdamOptimizer::new(&lr)
                .with_beta1(f("beta1")?)
                .with_beta2(f("beta2")?)
                .with_epsilon(f("epsilon")?),
        ),
        "Adagrad" => Box::new(
            train::AdagradOptimizer::new(&lr)
                .with_initial_accumulator_value(f("initial_accumulator_value")?),
        ),
        "RMSProp" => Box::new(
            train::RMSPropOptimizer::new(&lr)
                .with_decay(f("decay")?)
                .with_momentum(f("momentum")?)
                .with_epsilon(f("epsilon")?)
                .with_centered(b("centered")),
        ),
        "Adadelta" => Box::new(
            train::AdadeltaOptimizer::new(&lr)
                .with_rho(f("rho")?)
                .with_epsilon(f("epsilon")?),
        ),
        o => return Err(format!("unknown optimizer {o}")),
    };
    Ok((opt, lr))
}

/// The loss of the case's problem (`attrs.loss_expr`) over the tensors `t`.
fn problem_loss(c: &Case, t: &BTreeMap<String, Tensor>) -> rustflow::Result<Tensor> {
    match attr_str(c, "problem") {
        "quad2" => t["a"]
            .mul(&rustflow::square(&rustflow::sub(&t["w"], &t["c"])?)?)?
            .reduce_sum(None),
        "linreg" => {
            let d = rustflow::sub(&t["X"].matmul(&t["W"])?.add(&t["b"])?, &t["Y"])?;
            rustflow::reduce_mean(&rustflow::square(&d)?, None, false)
        }
        "mlp" => {
            let h = nn::relu(&t["X"].matmul(&t["W1"])?.add(&t["b1"])?)?;
            let logits = h.matmul(&t["W2"])?.add(&t["b2"])?;
            let xent = nn::softmax_cross_entropy_with_logits(&t["labels"], &logits)?;
            rustflow::reduce_mean(&xent, None, false)
        }
        p => Err(rustflow::Error::NotFound {
            name: format!("problem {p}"),
        }),
    }
}

/// An optimizer trajectory: the variables, slots, beta powers, learning rates, global step,
/// moving averages and loss after each step.
fn run_optimizer(c: &Case) -> Result<(), String> {
    let g = Graph::new();
    let mut t: BTreeMap<String, Tensor> = BTreeMap::new();
    let mut vars: BTreeMap<String, Variable> = BTreeMap::new();
    for (k, v) in &c.inputs {
        if c.variables.contains(k) {
            let var = g.variable(&g.constant(v.clone()), k).map_err(e)?;
            t.insert(k.clone(), (*var).clone());
            vars.insert(k.clone(), var);
        } else {
            t.insert(k.clone(), g.constant(v.clone()));
        }
    }
    let loss = problem_loss(c, &t).map_err(e)?;
    let global_step = train::get_or_create_global_step(&g).map_err(e)?;
    let (opt, lr) = optimizer(c, &global_step)?;
    let mut step = opt
        .minimize_with(&loss, Some(&global_step), None)
        .map_err(e)?;
    let ema = match c.attrs["ema_decay"].as_f64() {
        Some(decay) => {
            let ema = ExponentialMovingAverage::new(decay as f32);
            let listed: Vec<&Variable> = vars.values().collect();
            step = g
                .control_dependencies(&[&step], |_| ema.apply(&listed))
                .map_err(e)?
                .map_err(e)?;
            Some(ema)
        }
        None => None,
    };
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer().map_err(e)?, &feed! {})
        .map_err(e)?;
    let tol = super::tolerance("optimizer").0;
    let steps = c.attrs["steps"].as_u64().unwrap_or(0);
    let var = |name: &str| vars.get(name).ok_or_else(|| format!("no variable {name}"));
    for s in 0..=steps {
        let at_step: Vec<(&str, &Value)> = c
            .outputs
            .iter()
            .filter_map(|(k, v)| {
                let (name, at) = k.rsplit_once('@')?;
                (at == s.to_string()).then_some((name, v))
            })
            .collect();
        // The learning rate a step uses is the one before its global_step increment.
        if let Some((_, want)) = at_step.iter().find(|(k, _)| *k == "learning_rate") {
            let got = sess.eval(&lr, &feed! {}).map_err(e)?;
            compare(&format!("learning_rate@{s}"), &got, want, tol)?;
        }
        if s > 0 {
            sess.run_op(&step, &feed! {}).map_err(e)?;
        }
        for (name, want) in at_step {
            let tensor = match name.split_once('/') {
                _ if name == "learning_rate" => continue,
                None if name == "loss" => loss.clone(),
                None if name == "global_step" => (*global_step).clone(),
                None if name.ends_with("_power") => {
                    g.tensor_by_name(&format!("{name}:0")).map_err(e)?
                }
                None => t[name].clone(),
                Some(("ema", v)) => {
                    let shadow = ema.as_ref().and_then(|m| m.average(var(v).ok()?));
                    (*shadow.ok_or(format!("no moving average of {v}"))?).clone()
                }
                Some((slot, v)) => (*opt
                    .get_slot(var(v)?, slot)
                    .ok_or(format!("no slot {slot} of {v}"))?)
                .clone(),
            };
            let key = format!("{name}@{s}");
            let got = sess.eval(&tensor, &feed! {}).map_err(e)?;
            let tol = if name == "global_step" {
                (0.0, 0.0)
            } else {
                tol
            };
            compare(&key, &got, want, tol)?;
        }
    }
    Ok(())
}

/// The checks of an end-to-end case: forward values and gradients at the initial variables,
/// then every variable and the loss after each training step. `vars` are the case's
/// variables by name (all of them are set to the case's initial values first); `per_step`
/// are outputs `<name>@t` read just before step t runs (what that step used).
#[allow(clippy::too_many_arguments)]
fn check_end_to_end(
    c: &Case,
    sess: &Session,
    feeds: &FeedDict,
    forward: &[(&str, &Tensor)],
    per_step: &[(&str, &Tensor)],
    vars: &BTreeMap<String, Variable>,
    loss: &Tensor,
    step: &Operation,
) -> Result<(), String> {
    let (tol, tol_grad) = tolerance(&c.op).ok_or("tolerance")?;
    for (name, v) in vars {
        let want = c.inputs.get(name).ok_or(format!("no input {name}"))?;
        let set = v.assign(&sess.graph().constant(want.clone())).map_err(e)?;
        sess.eval(&set, &feed! {})
            .map_err(|err| format!("setting {name}: {err}"))?;
    }
    for (k, t) in forward {
        compare(k, &sess.eval(t, feeds).map_err(e)?, &c.outputs[*k], tol)?;
    }
    for (dk, want) in &c.grads {
        let v = dk
            .strip_prefix('d')
            .and_then(|k| vars.get(k))
            .ok_or(format!("grad {dk} names no variable"))?;
        let d = gradients(&[loss], &[&**v], None).map_err(e)?.remove(0);
        let (d, want) = (
            d.ok_or(format!("no gradient {dk}"))?,
            want.as_ref().ok_or(dk)?,
        );
        compare(dk, &sess.eval(&d, feeds).map_err(e)?, want, tol_grad)?;
    }
    compare(
        "loss@0",
        &sess.eval(loss, feeds).map_err(e)?,
        &c.outputs["loss@0"],
        tol,
    )?;
    for s in 1..=c.attrs["steps"].as_u64().unwrap_or(0) {
        for (name, t) in per_step {
            let key = format!("{name}@{s}");
            let want = c.outputs.get(&key).ok_or(format!("no output {key}"))?;
            compare(&key, &sess.eval(t, feeds).map_err(e)?, want, tol)?;
        }
        sess.run_op(step, feeds).map_err(e)?;
        for (name, v) in vars {
            let key = format!("{name}@{s}");
            let want = c.outputs.get(&key).ok_or(format!("no output {key}"))?;
            compare(&key, &sess.eval(v, feeds).map_err(e)?, want, (1e-5, 1e-5))?;
        }
        let key = format!("loss@{s}");
        compare(
            &key,
            &sess.eval(loss, feeds).map_err(e)?,
            &c.outputs[&key],
            tol,
        )?;
    }
    Ok(())
}

/// Variables of the case created as plain variables (those not made by a layer).
fn plain_variables(c: &Case, g: &Graph) -> Result<BTreeMap<String, Variable>, String> {
    c.variables
        .iter()
        .filter(|k| !k.contains('/'))
        .map(|k| {
            let v = c.inputs.get(k).ok_or(format!("no input {k}"))?;
            Ok((k.clone(), g.variable(&g.constant(v.clone()), k).map_err(e)?))
        })
        .collect()
}

/// A batch-normalized MLP: `layers.batch_normalization(training=True)` with its moving
/// averages run through `UPDATE_OPS`, trained by momentum.
fn run_batchnorm_mlp_tiny(c: &Case) -> Result<(), String> {
    let g = Graph::new();
    let inp = |k: &str| c.inputs.get(k).cloned().ok_or(format!("input {k}"));
    let x = g.placeholder_named(F32, inp("x")?.shape().to_vec(), "x");
    let labels = g.placeholder_named(F32, inp("labels")?.shape().to_vec(), "labels");
    let mut vars = plain_variables(c, &g)?;
    let h = x
        .matmul(&vars["W1"])
        .map_err(e)?
        .add(&vars["b1"])
        .map_err(e)?;
    let momentum = c.attrs["bn_momentum"].as_f64().unwrap_or(0.99) as f32;
    let epsilon = c.attrs["bn_epsilon"].as_f64().unwrap_or(1e-3) as f32;
    let h_bn = rustflow::layers::BatchNormalization::new()
        .momentum(momentum)
        .epsilon(epsilon)
        .apply(&h, true)
        .map_err(e)?;
    for v in rustflow::global_variables(&g).map_err(e)? {
        vars.insert(v.op_name(), v);
    }
    let logits = nn::relu(&h_bn)
        .and_then(|r| r.matmul(&vars["W2"]))
        .and_then(|m| m.add(&vars["b2"]))
        .map_err(e)?;
    let xent = nn::softmax_cross_entropy_with_logits_v2(&labels, &logits).map_err(e)?;
    let loss = rustflow::reduce_mean(&xent, None, false).map_err(e)?;
    let updates: Vec<Operation> = g
        .get_collection(rustflow::GraphKeys::UPDATE_OPS)
        .iter()
        .map(|i| i.op())
        .collect();
    let lr = c.attrs["learning_rate"].as_f64().ok_or("learning_rate")? as f32;
    let mu = c.attrs["momentum"].as_f64().ok_or("momentum")? as f32;
    let step = g
        .control_dependencies(&updates.iter().collect::<Vec<_>>(), |_| {
            train::MomentumOptimizer::new(lr, mu).minimize(&loss)
        })
        .map_err(e)?
        .map_err(e)?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer().map_err(e)?, &feed! {})
        .map_err(e)?;
    let feeds = feed! { &x => inp("x")?, &labels => inp("labels")? };
    let forward = [("h_bn", &h_bn), ("logits", &logits), ("loss", &loss)];
    check_end_to_end(c, &sess, &feeds, &forward, &[], &vars, &loss, &step)
}

/// An LSTM classifier (`attrs.architecture`): `BasicLSTMCell` run by `static_rnn` over the
/// unstacked time steps (or by `dynamic_rnn`, time-major, when `dynamic`), logits from the
/// last output, gradients clipped by their global norm, then gradient descent.
fn run_lstm_tiny(c: &Case, dynamic: bool) -> Result<(), String> {
    let form = if dynamic { "dynamic_rnn" } else { "static_rnn" };
    let at = |err: String| format!("{form}: {err}");
    let g = Graph::new();
    let inp = |k: &str| c.inputs.get(k).cloned().ok_or(format!("input {k}"));
    let x = g.placeholder_named(F32, inp("x")?.shape().to_vec(), "x");
    let labels = g.placeholder_named(I32, inp("labels")?.shape().to_vec(), "labels");
    let units = c.attrs["H"].as_u64().ok_or("attr H")? as usize;
    let forget_bias = c.attrs["forget_bias"].as_f64().unwrap_or(1.0) as f32;
    let cell = nn::BasicLSTMCell::new(units, forget_bias);
    let time_major = nn::RnnOptions {
        time_major: true,
        ..nn::RnnOptions::default()
    };
    let (h_1, state) = if dynamic {
        let (outs, state) = nn::dynamic_rnn(&cell, &x, time_major).map_err(e)?;
        (
            rustflow::unstack(&outs, 0, None).map_err(e)?.remove(0),
            state,
        )
    } else {
        let xs = rustflow::unstack(&x, 0, None).map_err(e)?;
        let (outs, state) = nn::static_rnn(&cell, &xs, nn::RnnOptions::default()).map_err(e)?;
        (outs[0].clone(), state)
    };
    let (c_final, h_final) = (&state[0], &state[1]);
    let mut vars = plain_variables(c, &g)?;
    vars.retain(|k, _| k == "W" || k == "b");
    let names = &c.attrs["tf_variable_names"];
    for v in nn::RNNCell::variables(&cell) {
        let (k, _) = names
            .as_object()
            .and_then(|o| o.iter().find(|(_, tf)| tf.as_str() == Some(&v.op_name())))
            .ok_or(format!(
                "the cell's {} is not a variable of the case",
                v.op_name()
            ))?;
        vars.insert(k.clone(), v);
    }
    let logits = h_final
        .matmul(&vars["W"])
        .and_then(|t| t.add(&vars["b"]))
        .map_err(e)?;
    let xent = nn::sparse_softmax_cross_entropy_with_logits(&labels, &logits).map_err(e)?;
    let loss = rustflow::reduce_mean(&xent, None, false).map_err(e)?;
    let order: Vec<Variable> = c.variables.iter().map(|k| vars[k].clone()).collect();
    let opt = train::GradientDescentOptimizer::new(
        c.attrs["learning_rate"].as_f64().ok_or("learning_rate")? as f32,
    );
    let grads = opt.compute_gradients(&loss, Some(&order)).map_err(e)?;
    let listed = grads
        .iter()
        .map(|(d, v)| d.as_ref().ok_or(format!("no gradient for {}", v.op_name())))
        .collect::<Result<Vec<_>, _>>()?;
    let clip = c.attrs["clip_norm"].as_f64().ok_or("clip_norm")? as f32;
    let (clipped, global_norm) = rustflow::clip_by_global_norm(&listed, clip).map_err(e)?;
    let pairs: Vec<(Option<Tensor>, Variable)> = clipped.into_iter().map(Some).zip(order).collect();
    let step = opt.apply_gradients(&pairs, None).map_err(e)?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer().map_err(e)?, &feed! {})
        .map_err(e)?;
    let feeds = feed! { &x => inp("x")?, &labels => inp("labels")? };
    let forward = [
        ("loss", &loss),
        ("logits", &logits),
        ("h_1", &h_1),
        ("h_final", h_final),
        ("c_final", c_final),
    ];
    let per_step = [("global_norm", &global_norm)];
    check_end_to_end(c, &sess, &feeds, &forward, &per_step, &vars, &loss, &step).map_err(at)
}
