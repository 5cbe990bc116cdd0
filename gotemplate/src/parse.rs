//! The parser: tokens to [`Tree`]s, with Go's grammar checks and error texts
//! (`template: name:line: message`).

use std::sync::Arc;

use crate::ast::{Arg, Branch, Command, Node, Pipe, Tree, Variable};
use crate::error::ParseError;
use crate::lex::{Token, TokenKind, lex};
use crate::number::{parse_number, unquote};

/// Go limits parenthesis nesting to keep the parser's stack bounded.
const MAX_STACK_DEPTH: usize = 10_000;

/// Parses one file. The first tree is the file's own body (named `name`); the others are its
/// `define`s and `block`s in source order.
pub fn parse(
    name: &str,
    text: &str,
    has_function: &dyn Fn(&str) -> bool,
) -> Result<Vec<Tree>, ParseError> {
    let text: Arc<str> = Arc::from(text);
    let parse_name: Arc<str> = Arc::from(name);
    let mut parser = Parser {
        tokens: lex(&text),
        index: 0,
        has_function,
        vars: vec!["$".to_string()],
        range_depth: 0,
        stack_depth: 0,
        parse_name: parse_name.clone(),
        text: text.clone(),
        defined: Vec::new(),
    };
    let root = parser.parse_top()?;
    let main = Tree {
        name: name.to_string(),
        parse_name,
        root,
        text,
    };
    let mut trees = vec![main];
    trees.append(&mut parser.defined);
    Ok(trees)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    index: usize,
    has_function: &'a dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
    stack_depth: usize,
    parse_name: Arc<str>,
    text: Arc<str>,
    defined: Vec<Tree>,
}

type Parsed<T> = Result<T, ParseError>;

/// What ended an item list.
enum ListEnd {
    End,
    Else,
}

impl Parser<'_> {
    fn current_line(&self) -> usize {
        let index = self.index.saturating_sub(1);
        self.tokens.get(index).map_or(1, |t| t.line)
    }

    fn error<T>(&self, message: impl Into<String>) -> Parsed<T> {
        Err(ParseError::new(
            format!("{}:{}", self.parse_name, self.current_line()),
            message.into(),
        ))
    }

    fn next(&mut self) -> Token {
        let token = self.peek();
        if self.index < self.tokens.len() {
            self.index += 1;
        }
        token
    }

    fn peek(&self) -> Token {
        self.tokens.get(self.index).cloned().unwrap_or(Token {
            kind: TokenKind::Eof,
            pos: self.text.len(),
            val: String::new(),
            line: 1,
        })
    }

    fn backup(&mut self) {
        self.index = self.index.saturating_sub(1);
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let token = self.next();
            if token.kind != TokenKind::Space {
                return token;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let token = self.next_non_space();
        self.backup();
        token
    }

    fn unexpected<T>(&self, token: &Token, context: &str) -> Parsed<T> {
        if token.kind == TokenKind::Error {
            return self.error(token.val.clone());
        }
        self.error(format!("unexpected {} in {context}", token.describe()))
    }

    fn expect(&mut self, kind: TokenKind, context: &str) -> Parsed<Token> {
        let token = self.next_non_space();
        if token.kind != kind {
            return self.unexpected(&token, context);
        }
        Ok(token)
    }

    fn parse_top(&mut self) -> Parsed<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().kind != TokenKind::Eof {
            if self.peek().kind == TokenKind::LeftDelim {
                let mark = self.index;
                self.next();
                if self.next_non_space().kind == TokenKind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.index = mark;
            }
            match self.text_or_action()? {
                Item::Node(node) => root.push(node),
                Item::End => return self.error("unexpected {{end}}"),
                Item::Else => return self.error("unexpected {{else}}"),
            }
        }
        Ok(root)
    }

    fn add_tree(&mut self, name: String, root: Vec<Node>) -> Parsed<()> {
        let tree = Tree {
            name,
            parse_name: self.parse_name.clone(),
            root,
            text: self.text.clone(),
        };
        if let Some(existing) = self.defined.iter_mut().find(|t| t.name == tree.name) {
            if existing.is_empty() {
                *existing = tree;
            } else if !tree.is_empty() {
                return self.error(format!(
                    "template: multiple definition of template {}",
                    crate::fmt::quote_go(&tree.name)
                ));
            }
            return Ok(());
        }
        self.defined.push(tree);
        Ok(())
    }

    fn parse_definition(&mut self) -> Parsed<()> {
        let context = "define clause";
        let token = self.next_non_space();
        if !matches!(token.kind, TokenKind::String | TokenKind::RawString) {
            return self.unexpected(&token, context);
        }
        let Some(name) = unquote(&token.val) else {
            return self.error("invalid syntax");
        };
        self.expect(TokenKind::RightDelim, context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if let ListEnd::Else = end {
            return self.error(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add_tree(name, list)
    }

    fn item_list(&mut self) -> Parsed<(Vec<Node>, ListEnd)> {
        let mut list = Vec::new();
        while self.peek_non_space().kind != TokenKind::Eof {
            match self.text_or_action()? {
                Item::Node(node) => list.push(node),
                Item::End => return Ok((list, ListEnd::End)),
                Item::Else => return Ok((list, ListEnd::Else)),
            }
        }
        self.error("unexpected EOF")
    }

    fn text_or_action(&mut self) -> Parsed<Item> {
        let token = self.next_non_space();
        match token.kind {
            TokenKind::Text => Ok(Item::Node(Node::Text {
                pos: token.pos,
                text: token.val,
            })),
            TokenKind::LeftDelim => self.action(),
            _ => self.unexpected(&token, "input"),
        }
    }

    fn action(&mut self) -> Parsed<Item> {
        let token = self.next_non_space();
        let node = match token.kind {
            TokenKind::Block => self.block_control()?,
            TokenKind::Break | TokenKind::Continue => {
                let is_break = token.kind == TokenKind::Break;
                let keyword = if is_break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                };
                let next = self.next_non_space();
                if next.kind != TokenKind::RightDelim {
                    return self.unexpected(&next, keyword);
                }
                if self.range_depth == 0 {
                    return self.error(format!("{keyword} outside {{{{range}}}}"));
                }
                if is_break {
                    Node::Break { pos: token.pos }
                } else {
                    Node::Continue { pos: token.pos }
                }
            }
            TokenKind::Else => {
                let peek = self.peek_non_space();
                if matches!(peek.kind, TokenKind::If | TokenKind::With) {
                    return Ok(Item::Else);
                }
                self.expect(TokenKind::RightDelim, "else")?;
                return Ok(Item::Else);
            }
            TokenKind::End => {
                self.expect(TokenKind::RightDelim, "end")?;
                return Ok(Item::End);
            }
            TokenKind::If => Node::If(crate::exec::grow_stack(|| self.parse_control("if"))?),
            TokenKind::Range => {
                Node::Range(crate::exec::grow_stack(|| self.parse_control("range"))?)
            }
            TokenKind::With => Node::With(crate::exec::grow_stack(|| self.parse_control("with"))?),
            TokenKind::Template => self.template_control()?,
            _ => {
                self.backup();
                let pos = self.peek().pos;
                let pipe = self.pipeline("command", TokenKind::RightDelim)?;
                Node::Action { pos, pipe }
            }
        };
        Ok(Item::Node(node))
    }

    fn parse_control(&mut self, context: &str) -> Parsed<Branch> {
        let vars_len = self.vars.len();
        let result = self.parse_control_inner(context);
        self.vars.truncate(vars_len);
        result
    }

    fn parse_control_inner(&mut self, context: &str) -> Parsed<Branch> {
        let pipe = self.pipeline(context, TokenKind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let listed = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, end) = listed?;
        let else_list = match end {
            ListEnd::End => None,
            ListEnd::Else => {
                let peek = self.peek().kind;
                if context == "if" && peek == TokenKind::If {
                    self.next();
                    Some(vec![Node::If(self.parse_control("if")?)])
                } else if context == "with" && peek == TokenKind::With {
                    self.next();
                    Some(vec![Node::With(self.parse_control("with")?)])
                } else {
                    let (else_list, end) = self.item_list()?;
                    if let ListEnd::Else = end {
                        return self.error("expected end; found {{else}}");
                    }
                    Some(else_list)
                }
            }
        };
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&self, token: &Token, context: &str) -> Parsed<String> {
        match token.kind {
            TokenKind::String | TokenKind::RawString => match unquote(&token.val) {
                Some(name) => Ok(name),
                None => self.error("invalid syntax"),
            },
            _ => self.unexpected(token, context),
        }
    }

    fn template_control(&mut self) -> Parsed<Node> {
        let context = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let pipe = if self.next_non_space().kind != TokenKind::RightDelim {
            self.backup();
            Some(self.pipeline(context, TokenKind::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe,
        })
    }

    fn block_control(&mut self) -> Parsed<Node> {
        let context = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let pipe = self.pipeline(context, TokenKind::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let listed = self.item_list();
        self.vars = saved_vars;
        self.range_depth = saved_range;
        let (list, end) = listed?;
        if let ListEnd::Else = end {
            return self.error(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add_tree(name.clone(), list)?;
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: TokenKind) -> Parsed<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        self.declarations(&mut pipe, context)?;
        loop {
            let token = self.next_non_space();
            match token.kind {
                kind if kind == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                TokenKind::Bool
                | TokenKind::CharConstant
                | TokenKind::Complex
                | TokenKind::Dot
                | TokenKind::Field
                | TokenKind::Identifier
                | TokenKind::Number
                | TokenKind::Nil
                | TokenKind::RawString
                | TokenKind::String
                | TokenKind::Variable
                | TokenKind::LeftParen => {
                    self.backup();
                    let command = self.command()?;
                    pipe.cmds.push(command);
                }
                _ => return self.unexpected(&token, context),
            }
        }
    }

    fn declarations(&mut self, pipe: &mut Pipe, context: &str) -> Parsed<()> {
        loop {
            let start = self.index;
            let v = self.next_non_space();
            if v.kind != TokenKind::Variable {
                self.index = start;
                return Ok(());
            }
            let after_variable = self.peek();
            let next = self.peek_non_space();
            match next.kind {
                TokenKind::Assign | TokenKind::Declare => {
                    pipe.is_assign = next.kind == TokenKind::Assign;
                    self.next_non_space();
                    pipe.decl.push(Variable {
                        pos: v.pos,
                        ident: vec![v.val.clone()],
                    });
                    self.vars.push(v.val);
                    return Ok(());
                }
                TokenKind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(Variable {
                        pos: v.pos,
                        ident: vec![v.val.clone()],
                    });
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            TokenKind::Variable | TokenKind::RightDelim | TokenKind::RightParen => {
                                continue;
                            }
                            _ => return self.error("range can only initialize variables"),
                        }
                    }
                    return self.error(format!("too many declarations in {context}"));
                }
                _ => {
                    let _ = after_variable;
                    self.index = start;
                    return Ok(());
                }
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> Parsed<()> {
        if pipe.cmds.is_empty() {
            return self.error(format!("missing value for {context}"));
        }
        for (i, command) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                command.args.first(),
                Some(
                    Arg::Bool { .. }
                        | Arg::Dot { .. }
                        | Arg::Nil { .. }
                        | Arg::Number { .. }
                        | Arg::String { .. }
                )
            ) {
                return self.error(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Parsed<Command> {
        let pos = self.peek_non_space().pos;
        let mut command = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                command.args.push(operand);
            }
            let token = self.next();
            match token.kind {
                TokenKind::Space => continue,
                TokenKind::RightDelim | TokenKind::RightParen => self.backup(),
                TokenKind::Pipe => {}
                _ => return self.unexpected(&token, "operand"),
            }
            break;
        }
        if command.args.is_empty() {
            return self.error("empty command");
        }
        Ok(command)
    }

    fn operand(&mut self) -> Parsed<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != TokenKind::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == TokenKind::Field {
            let token = self.next();
            fields.push(token.val[1..].to_string());
        }
        let node = match node {
            Arg::Field { mut ident, .. } => {
                ident.extend(fields);
                Arg::Field {
                    pos: chain_pos,
                    ident,
                }
            }
            Arg::Variable(mut v) => {
                v.ident.extend(fields);
                v.pos = chain_pos;
                Arg::Variable(v)
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return self.error(format!(
                    "unexpected . after term {}",
                    crate::fmt::quote_go(&node.to_string())
                ));
            }
            other => Arg::Chain {
                pos: chain_pos,
                node: Box::new(other),
                fields,
            },
        };
        Ok(Some(node))
    }

    fn term(&mut self) -> Parsed<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        let arg = match token.kind {
            TokenKind::Identifier => {
                if !(self.has_function)(&token.val) {
                    return self.error(format!(
                        "function {} not defined",
                        crate::fmt::quote_go(&token.val)
                    ));
                }
                Arg::Identifier {
                    pos,
                    name: token.val,
                }
            }
            TokenKind::Dot => Arg::Dot { pos },
            TokenKind::Nil => Arg::Nil { pos },
            TokenKind::Variable => {
                let ident: Vec<String> = token.val.split('.').map(str::to_string).collect();
                let name = ident.first().cloned().unwrap_or_default();
                if !self.vars.contains(&name) {
                    return self.error(format!(
                        "undefined variable {}",
                        crate::fmt::quote_go(&name)
                    ));
                }
                Arg::Variable(Variable { pos, ident })
            }
            TokenKind::Field => Arg::Field {
                pos,
                ident: token.val[1..].split('.').map(str::to_string).collect(),
            },
            TokenKind::Bool => Arg::Bool {
                pos,
                value: token.val == "true",
            },
            TokenKind::CharConstant | TokenKind::Number | TokenKind::Complex => {
                match parse_number(&token.val, token.kind == TokenKind::CharConstant) {
                    Ok(number) => Arg::Number { pos, number },
                    Err(message) => return self.error(message),
                }
            }
            TokenKind::LeftParen => {
                if self.stack_depth >= MAX_STACK_DEPTH {
                    return self.error("max expression depth exceeded");
                }
                self.stack_depth += 1;
                let pipe = crate::exec::grow_stack(|| {
                    self.pipeline("parenthesized pipeline", TokenKind::RightParen)
                });
                self.stack_depth -= 1;
                Arg::Pipe(Box::new(pipe?))
            }
            TokenKind::String | TokenKind::RawString => match unquote(&token.val) {
                Some(text) => Arg::String {
                    pos,
                    quoted: token.val,
                    text,
                },
                None => return self.error("invalid syntax"),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(arg))
    }
}

enum Item {
    Node(Node),
    End,
    Else,
}
